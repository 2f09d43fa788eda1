-- wrk: GET the URL given with the root bearer in $LATCHKEY_TOKEN. wrk counts the answers that
-- are not 2xx; bench/run fails the run on any.
wrk.headers["Authorization"] = "Bearer " .. os.getenv("LATCHKEY_TOKEN")
