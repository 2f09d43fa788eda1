-- The counts of live tokens by expiry day (0004) gain rows for every day an organization's
-- tokens expire on (up to one a slot), and a status page's total sums the rows of every day
-- before today: over a store's years, thousands of rows a page. The store folds the days
-- before yesterday into one row an organization (`Store::fold_counters`); this index finds the
-- rows it folds, which sit between the folded rows and yesterday, without reading every
-- organization's days. It gains an entry when a row is made, not at every count (the counts
-- themselves are not indexed, so a count's update stays a heap-only one).
CREATE INDEX token_expiry_counts_day ON token_expiry_counts (day);
