import re
import shutil

from skillcircle.access.analysis import analyse
from skillcircle.outputs.html import html_report, write_html_report
from skillcircle.siting.suggest import suggest


def test_report_page_is_self_contained_and_escapes_user_text(hand_study, tmp_path):
    hostile = tmp_path / "ledger<img src=x onerror=alert(1)>.csv"
    shutil.copyfile(hand_study["stations"], hostile)
    a = analyse(**{**hand_study, "stations": hostile}, with_gaps=False)
    plan = suggest(a, add=1, candidate_spacing_m=100.0, phases=None)
    page = html_report(a, plan=plan, map_html="<html><body>map & more</body></html>")
    assert page.startswith("<!DOCTYPE html>")
    assert page.rstrip().endswith("</html>")
    assert "<script" not in page  # no script of its own; the user's file name is text
    assert "ledger&lt;img src=x onerror=alert(1)&gt;.csv" in page
    assert "<img" not in page
    # the map document is inlined, escaped, in an iframe's srcdoc
    assert 'srcdoc="&lt;html&gt;&lt;body&gt;map &amp; more&lt;/body&gt;&lt;/html&gt;"' in page
    # headline figures: 440 of 450 residents, 97.8 %, then 100 % after the plan
    figures = re.findall(r"<div class='fig'>(.*?)<b>(.*?)</b></div>", page)
    assert ("Within the walk 覆盖人口", "440") in figures
    assert ("Coverage 覆盖率", "97.8 %") in figures
    assert ("After the plan 规划后", "100.0 %") in figures
    path = write_html_report(tmp_path / "out" / "report.html", a, plan=plan)
    assert path.read_text(encoding="utf-8").count("<iframe") == 0
