"""City profiles: the defaults that belong to one city, chosen from the study area."""
