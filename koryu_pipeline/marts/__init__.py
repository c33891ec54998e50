"""Facts -> marts: per-question tables (questions, choice, likert, intervals), breakdowns
(with suppression), comparisons, headlines, the data dictionary and their checks;
`build.build_marts` makes them all in one call."""
