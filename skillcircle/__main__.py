"""``python -m skillcircle``: the command-line interface."""

from skillcircle.cli import entry

if __name__ == "__main__":
    entry()
