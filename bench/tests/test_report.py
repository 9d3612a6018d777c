"""Unit tests for bench/report: python3 -m unittest discover -s bench/tests (ctest -L bench)."""

import contextlib
import importlib.machinery
import importlib.util
import io
import shutil
import tempfile
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"
_loader = importlib.machinery.SourceFileLoader("report", str(HERE.parent / "report"))
_spec = importlib.util.spec_from_loader("report", _loader)
report = importlib.util.module_from_spec(_spec)
_loader.exec_module(report)


def run(*argv, stdin=None):
    """(exit status, stdout) of `bench/report ARGV`."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        if stdin is not None:
            import sys

            old, sys.stdin = sys.stdin, io.StringIO(stdin)
            try:
                rc = report.main(list(argv))
            finally:
                sys.stdin = old
        else:
            rc = report.main(list(argv))
    return rc, out.getvalue()


def summary_row(**cells):
    """A summary row (as read from a summary file) with NAME, NAME_min, NAME_max for tuples."""
    row = {}
    for k, v in cells.items():
        if isinstance(v, tuple):
            row[k], row[k + "_min"], row[k + "_max"] = v
        else:
            row[k] = v
    return row


class Statistics(unittest.TestCase):
    def test_median_of_an_odd_count_is_the_middle_value(self):
        self.assertEqual(report.median([9, 1, 5]), 5)
        self.assertEqual(report.median([7]), 7)

    def test_median_of_an_even_count_is_the_mean_of_the_middle_two(self):
        self.assertEqual(report.median([4, 1, 3, 2]), 2.5)
        self.assertEqual(report.median([10, 20]), 15)

    def test_spread_is_median_min_max(self):
        self.assertEqual(report.spread([3, 10, 1, 7]), (5, 1, 10))

    def test_summarize_takes_medians_per_key_over_rounds_with_a_number(self):
        rows = [
            {"n": "1", "server": "a", "v": "10"},
            {"n": "1", "server": "b", "v": "-"},
            {"n": "1", "server": "a", "v": "30"},
            {"n": "2", "server": "a", "v": ""},
            {"n": "1", "server": "a", "v": "1e1"},
            {"n": "1", "server": "a", "v": "20"},
        ]
        got = report.summarize(rows, ["n", "server"], ["v"])
        self.assertEqual(got[0], (("1", "a"), 4, [(15, 10, 30)]))
        self.assertEqual(got[1], (("1", "b"), 1, [None]))
        self.assertEqual(got[2], (("2", "a"), 1, [None]))
        lines = report.summary_lines(["n", "server"], ["v"], got)
        self.assertEqual(lines[0], "n\tserver\trounds\tv\tv_min\tv_max")
        self.assertEqual(lines[1], "1\ta\t4\t15\t10\t30")
        self.assertEqual(lines[2], "1\tb\t1\t-\t-\t-")

    def test_summary_keeps_figures_of_a_million_and_more(self):
        # awk's six significant digits printed 1234567.5 as 1.23457e+06.
        self.assertEqual(report.summary_text((1234567 + 1234568) / 2), "1234567.5")
        self.assertEqual(report.summary_text((33.17 + 33.18) / 2), "33.175")
        self.assertEqual(report.summary_text(100.0), "100")

    def test_awk_reads_numbers_by_their_prefix(self):
        self.assertEqual(report.leading_number("850.00us"), 850)
        self.assertEqual(report.leading_number("-"), 0)
        self.assertEqual(report.leading_number(""), 0)

    def test_wrk_latencies_convert_to_milliseconds(self):
        self.assertAlmostEqual(report.wrk_ms("850.00us"), 0.85)
        self.assertEqual(report.wrk_ms("1.23ms"), 1.23)
        self.assertEqual(report.wrk_ms("1.02s"), 1020)
        self.assertEqual(report.wrk_ms("2.00m"), 120000)

    def test_jq_rounds_halves_away_from_zero(self):
        self.assertEqual(report.round_half_away(2.5), 3)
        self.assertEqual(report.round_half_away(-2.5), -3)


class Ratios(unittest.TestCase):
    rows = [
        summary_row(server="dialtone", rps="300"),
        summary_row(server="h2o", rps="100"),
        summary_row(server="nginx", rps="0"),
        summary_row(server="apache", rps="-"),
    ]

    def test_ratio_is_dialtones_median_over_the_peers(self):
        self.assertEqual(report.ratio("300", "100"), "3.00×")
        self.assertEqual(report.ratio("1", "3"), "0.33×")

    def test_a_zero_or_missing_figure_gives_no_ratio(self):
        self.assertEqual(report.ratio("300", "0"), "–")
        self.assertEqual(report.ratio("300", "-"), "–")
        self.assertEqual(report.ratio("-", "100"), "–")

    def test_one_line_per_metric_over_every_peer_in_first_seen_order(self):
        self.assertEqual(
            report.md_ratios(self.rows, ["req/s=rps"]),
            ["- req/s: dialtone / h2o = 3.00×, dialtone / nginx = –, dialtone / apache = –"],
        )

    def test_a_missing_peer_is_left_out_and_a_group_without_dialtone_prints_nothing(self):
        rows = [
            summary_row(n="1", server="dialtone", rps="2"),
            summary_row(n="1", server="h2o", rps="4"),
            summary_row(n="2", server="h2o", rps="4"),
            summary_row(n="3", server="dialtone", rps="4"),
        ]
        self.assertEqual(
            report.md_ratios(rows, ["req/s=rps"], "n", "N"),
            ["- N = 1, req/s: dialtone / h2o = 0.50×"],
        )

    def test_growth_compares_the_smallest_and_largest_n(self):
        rows = [
            summary_row(n="2000", server="a", rss_per_n_kib="4", us_req="150"),
            summary_row(n="1000", server="a", rss_per_n_kib="8", us_req="0"),
            summary_row(n="5000", server="a", rss_per_n_kib="2", us_req="-"),
        ]
        self.assertEqual(
            report.md_growth(rows),
            ["- a, N = 1000 → 5000: RSS/N 8.0 → 2.0 KiB (×0.25), CPU per request 0 → - µs"],
        )


class Tables(unittest.TestCase):
    def test_cells_show_the_spread_only_when_it_prints_differently(self):
        rows = [
            summary_row(server="a", rps=("10.04", "10.01", "10.049")),
            summary_row(server="b", rps=("10", "9", "11")),
            summary_row(server="c", rps=("-", "-", "-")),
        ]
        self.assertEqual(
            report.md_table(rows, ["server=server:key", "req/s=rps:1"]),
            [
                "| server | req/s |",
                "|---|---:|",
                "| a | 10.0 |",
                "| b | 10.0 (9.0–11.0) |",
                "| c | - |",
            ],
        )

    def test_recorded_suite_runs_print_what_the_awk_printed(self):
        suite = FIXTURES / "suite"
        expected = suite / "expected"
        with tempfile.TemporaryDirectory() as tmp:
            summaries = {
                "static-4k": ("server", "rps,p99_ms,errors,us_req"),
                "static-1m": ("server", "rps,p99_ms,errors,us_req"),
                "dialup": ("server", "completed,errors,fb_p1,fb_p50,fb_p99,rq_p50,on_rate,"
                           "rss_mib,cpu_s,us_req,threads,mach_s,first_read"),
                "scaling": ("n,server", "completed,errors,rss_mib,rss_per_n_kib,"
                            "delta_per_n_kib,us_req,on_rate,threads"),
                "idle": ("server", "held,base_mib,held_mib,bytes_per_conn,threads"),
            }
            sums = {}
            for w, (keys, metrics) in summaries.items():
                rc, out = run("summarize", str(suite / (w + ".tsv")), keys, metrics)
                self.assertEqual(out, (expected / (w + ".sum")).read_text(), w)
                sums[w] = Path(tmp) / (w + ".sum")
                sums[w].write_text(out)
            static = ["server=server:key", "req/s=rps:0", "p99 latency ms=p99_ms:2",
                      "errors=errors:0", "server CPU µs/req=us_req:1"]
            static_ratios = ["req/s (higher is better)=rps", "p99 latency (lower is better)=p99_ms",
                             "CPU per request (lower is better)=us_req"]
            for w in ("static-4k", "static-1m"):
                md = run("table", str(sums[w]), *static)[1] + "\n"
                md += run("ratios", str(sums[w]), "", "", *static_ratios)[1]
                self.assertEqual(md, (expected / (w + ".md")).read_text(), w)
                dat = run("plotdata", "static", str(sums[w]))[1]
                self.assertEqual(dat, (expected / ("plot-%s.dat" % w)).read_text(), w)
            md = run("table", str(sums["dialup"]), "server=server:key", "done=completed:0",
                     "errors=errors:0", "p1 %=fb_p1:1", "p50 %=fb_p50:1", "p99 %=fb_p99:1",
                     "from request p50 %=rq_p50:1", "on rate=on_rate:0",
                     "peak RSS MiB=rss_mib:1", "CPU s=cpu_s:2", "µs/req=us_req:0",
                     "threads=threads:0", "mach CPU s=mach_s:2", "first read B=first_read:0")[1]
            md += "\n" + run("ratios", str(sums["dialup"]), "", "",
                             "peak RSS (lower is better)=rss_mib",
                             "CPU per request (lower is better)=us_req")[1]
            self.assertEqual(md, (expected / "dialup.md").read_text())
            md = run("table", str(sums["scaling"]), "N=n:key", "server=server:key",
                     "done=completed:0", "errors=errors:0", "peak RSS MiB=rss_mib:1",
                     "RSS/N KiB=rss_per_n_kib:2", "ΔRSS/N KiB=delta_per_n_kib:2",
                     "µs/req=us_req:0", "on rate=on_rate:0", "threads=threads:0")[1]
            md += "\n" + run("growth", str(sums["scaling"]))[1]
            md += "\n" + run("ratios", str(sums["scaling"]), "n", "N",
                             "RSS/N (lower is better)=rss_per_n_kib",
                             "CPU per request (lower is better)=us_req")[1]
            self.assertEqual(md, (expected / "scaling.md").read_text())
            for s in ("dialtone", "h2o", "nginx", "apache"):
                dat = run("plotdata", "scaling", str(sums["scaling"]), s)[1]
                self.assertEqual(dat, (expected / ("plot-scaling-%s.dat" % s)).read_text(), s)
            md = run("table", str(sums["idle"]), "server=server:key", "held=held:0",
                     "RSS before MiB=base_mib:1", "RSS with N idle MiB=held_mib:1",
                     "bytes/conn=bytes_per_conn:0", "threads=threads:0")[1]
            md += "\n" + run("ratios", str(sums["idle"]), "", "",
                             "bytes per idle connection (lower is better)=bytes_per_conn")[1]
            self.assertEqual(md, (expected / "idle.md").read_text())


class Rows(unittest.TestCase):
    def test_recorded_raw_files_give_the_rows_the_awk_and_jq_gave(self):
        raw = FIXTURES / "raw"
        out = ""
        for f in ("wrk-4k", "wrk-errors", "wrk-minutes"):
            out += run("row", "static", "2", "dialtone", "10.13", str(raw / (f + ".txt")))[1]
        for rnd, s in (("3", "dialtone"), ("1", "h2o")):
            out += run("row", "dialup", rnd, str(raw / ("dialup-%s.json" % s)),
                       str(raw / ("dialup-%s-server.json" % s)))[1]
        out += run("row", "idle", "1", "dialtone", "5120", "17532", "3",
                   str(raw / "idle-client.txt"))[1]
        out += run("row", "idle", "2", "nginx", "31000", "", "", str(raw / "idle-client-none.txt"))[1]
        out += run("settled", stdin=(raw / "settled.txt").read_text())[1]
        self.assertEqual(out, (raw / "expected" / "rows.txt").read_text())

    def test_upstream_connections_leave_out_the_one_the_second_count_came_on(self):
        self.assertEqual(report.upstream_opened("120", "121"), 0)
        self.assertEqual(report.upstream_opened("120", "185"), 64)
        self.assertEqual(report.upstream_opened("120", "", ), "-")
        self.assertEqual(report.upstream_opened("120", "7"), "-")  # the upstream restarted

    def test_proxy_row_adds_upstream_connections_in_all_and_per_request(self):
        wrk = (FIXTURES / "raw" / "wrk-4k.txt").read_text()
        static = report.static_row("1", "nginx", "2.5", wrk)
        requests = report.parse_wrk(wrk)["requests"]
        got = report.proxy_row("1", "nginx", "2.5", wrk, "100", "151")
        self.assertEqual(got, "%s\t50\t%.6f" % (static, 50 / requests))
        self.assertEqual(report.proxy_row("1", "nginx", "2.5", wrk, "100", "101"),
                         static + "\t0\t0.000000")
        self.assertEqual(report.proxy_row("1", "nginx", "2.5", wrk, "-", "101"),
                         static + "\t-\t-")

    def test_proxy_slow_row_has_memory_per_client_and_the_limit_flag(self):
        client = {"completed": 190, "errors": 10}
        srv = {"server": "h2o", "n": 200, "base_rss_kib": 10240, "peak_rss_kib": 215040,
               "peak_threads": 3, "peak_tcp_kib": 4096, "rss_limit_hit": True, "cpu_s": 1.5}
        self.assertEqual(report.proxy_slow_row("2", client, srv),
                         "2\th2o\t200\t190\t10\t210\t1075.2\t1024\t4\t1.5\t3\t1")
        del srv["peak_tcp_kib"], srv["rss_limit_hit"]  # a server.json from before these keys
        self.assertTrue(report.proxy_slow_row("2", client, srv).endswith("\t0\t1.5\t3\t0"))

    def test_settled_is_the_median_rss_and_the_most_threads(self):
        self.assertEqual(report.settled("30 0 2\n10 0 9\n20 0 3\n"), "20 9")


KEEPALIVE_REPORT = """keepalive.connections 520
keepalive.connect_errors 0
keepalive.closed_by_server 21
keepalive.responses 100000
keepalive.cut_off 3
keepalive.start_unix_ms 1796003034035
keepalive.wall_s 31.200
keepalive.s2xx 99990
keepalive.s502 7
keepalive.s503 0
keepalive.s504 0
keepalive.other 3
keepalive.connect 0
keepalive.closed 2
keepalive.reset 1
keepalive.timeout 0
keepalive.protocol 0
"""
TIMELINE_HEAD = "ms\ts2xx\ts502\ts503\ts504\tother\tconnect\tclosed\treset\ttimeout\tprotocol\n"


def timeline(*rows):
    """A --timeline TSV of 500 ms intervals: each row (s2xx, s502, s503, reset)."""
    return TIMELINE_HEAD + "".join("%d\t%d\t%d\t%d\t0\t0\t0\t0\t%d\t0\t0\n" % (i * 500, *r)
                                   for i, r in enumerate(rows))


class FailureWorkloads(unittest.TestCase):
    def test_idle_race_row_breaks_errors_down_and_counts_upstream_connections(self):
        row = report.idle_race_row("1", "nginx", KEEPALIVE_REPORT, "40", "171")
        # requests errors socket (connect closed reset timeout protocol) non2xx (502 503 504
        # other) upstream-opened
        self.assertEqual(row, "1\tnginx\t100000\t13\t3\t0\t2\t1\t0\t0\t10\t7\t0\t0\t3\t130")

    def test_client_errors_name_only_the_kinds_that_happened(self):
        counts = report.keepalive_counts(KEEPALIVE_REPORT)
        self.assertEqual(report.client_errors(counts), "s502 7, other 3, closed 2, reset 1")
        self.assertEqual(run("client-errors", "/dev/null"), (0, ""))

    def test_errors_outside_the_window_fail_and_inside_it_do_not(self):
        # Kill at 1000 ms, back at 2000, fail timeout 1000: the window is [1000, 3000).
        buckets = report.read_timeline(timeline(
            (50, 0, 0, 0), (50, 0, 0, 0), (10, 5, 0, 1), (0, 0, 30, 0), (0, 0, 30, 0),
            (20, 0, 3, 0), (50, 0, 0, 0), (50, 0, 0, 0), (50, 0, 0, 0), (50, 0, 0, 0)))
        f = report.restart_figures(buckets, 1000, 2000, 1000)
        # The 503s until 3000 are inside, and the first clean second starts there: just in time.
        self.assertEqual(f, {"inside": 69, "outside": 0, "recovery_ms": 1000, "pass": True})
        late = report.read_timeline(timeline(
            (50, 0, 0, 0), (50, 0, 0, 0), (10, 5, 0, 0), (50, 0, 0, 0), (50, 0, 0, 0),
            (50, 0, 0, 0), (50, 0, 0, 0), (49, 1, 0, 0), (50, 0, 0, 0), (50, 0, 0, 0)))
        f = report.restart_figures(late, 1000, 2000, 1000)
        self.assertEqual((f["inside"], f["outside"], f["pass"]), (5, 1, False))

    def test_an_interval_that_overlaps_the_window_is_inside_it(self):
        # The kill at 1200 ms falls in the interval [1000, 1500): its errors are the kill's.
        buckets = report.read_timeline(timeline(
            (50, 0, 0, 0), (50, 0, 0, 0), (10, 0, 0, 4), (50, 0, 0, 0), (50, 0, 0, 0),
            (50, 0, 0, 0), (50, 0, 0, 0)))
        self.assertEqual(report.restart_figures(buckets, 1200, 1300, 500)["outside"], 0)

    def test_recovery_is_the_first_whole_clean_second_after_the_return(self):
        buckets = report.read_timeline(timeline(
            (50, 0, 0, 0), (0, 0, 9, 0), (0, 0, 9, 0), (40, 0, 1, 0), (50, 0, 0, 0),
            (50, 0, 0, 0), (50, 0, 0, 0)))
        # Back at 1200: the first interval starting after it is 1500, which still has a 503.
        f = report.restart_figures(buckets, 500, 1200, 3000)
        self.assertEqual(f["recovery_ms"], 800)
        # Too late for a 500 ms fail timeout: no pass, though every error is inside.
        f = report.restart_figures(buckets, 500, 1200, 500)
        self.assertEqual((f["outside"], f["recovery_ms"], f["pass"]), (0, 800, False))

    def test_no_clean_second_or_no_return_is_no_recovery_and_no_pass(self):
        buckets = report.read_timeline(timeline((50, 0, 0, 0), (0, 0, 9, 0), (0, 0, 9, 0),
                                                (50, 0, 0, 0)))
        self.assertEqual(report.restart_figures(buckets, 500, 1000, 3000)["recovery_ms"], None)
        f = report.restart_figures(buckets, 500, None, 3000)
        self.assertEqual((f["outside"], f["recovery_ms"], f["pass"]), (0, None, False))
        # An interval with no answer at all is not service: a proxy holding its requests.
        quiet = report.read_timeline(timeline((0, 0, 0, 0), (0, 0, 0, 0), (0, 0, 0, 0),
                                              (50, 0, 0, 0), (50, 0, 0, 0)))
        self.assertEqual(report.restart_figures(quiet, 0, 0, 3000)["recovery_ms"], 1500)

    def test_restart_row_aligns_the_scripts_moments_with_the_clients_start(self):
        start_us = 1796003034035 * 1000
        tl = timeline((50, 0, 0, 0), (50, 0, 0, 0), (10, 5, 0, 1), (0, 0, 30, 0), (0, 0, 30, 0),
                      (20, 0, 3, 0), (50, 0, 0, 0), (50, 0, 0, 0), (50, 0, 0, 0), (50, 0, 0, 0))
        row, seconds = report.restart_row("1", "dialtone", KEEPALIVE_REPORT, tl,
                                          str(start_us + 1000000), str(start_us + 2000000),
                                          "1000")
        # requests 2xx non-2xx socket inside outside recovery fail_timeout pass (the counts
        # are the report's, the window's the timeline's)
        self.assertEqual(row, "1\tdialtone\t100000\t99990\t10\t3\t69\t0\t1000\t1000\t1")
        self.assertEqual(seconds, [
            "k\ts2xx\ts502\ts503\ts504\tother\tsocket\tmark",
            "-1\t100\t0\t0\t0\t0\t0\t-",
            "0\t10\t5\t30\t0\t0\t1\tkill",
            "1\t20\t0\t33\t0\t0\t0\tback",
            "2\t100\t0\t0\t0\t0\t0\tback+fail_timeout",
            "3\t100\t0\t0\t0\t0\t0\t-",
        ])

    def test_seconds_start_with_the_interval_the_kill_fell_in(self):
        tl = report.read_timeline(timeline((50, 0, 0, 0), (50, 0, 0, 0), (10, 0, 9, 0),
                                           (0, 0, 30, 0), (40, 0, 0, 0)))
        # Killed at 1200: second 0 starts at 1000, with the kill's errors; back at 1600.
        self.assertEqual(report.restart_seconds(tl, 1200, 1600, 1000), [
            "k\ts2xx\ts502\ts503\ts504\tother\tsocket\tmark",
            "-1\t100\t0\t0\t0\t0\t0\t-",
            "0\t10\t0\t39\t0\t0\t0\tkill,back",
            "1\t40\t0\t0\t0\t0\t0\tback+fail_timeout",
        ])

    def test_restart_timeline_has_a_column_per_server_and_a_row_per_second(self):
        head = "k\ts2xx\ts502\ts503\ts504\tother\tsocket\tmark\n"
        with tempfile.TemporaryDirectory() as d:
            a, b = Path(d) / "a.tsv", Path(d) / "b.tsv"
            a.write_text(head + "-1\t900\t0\t0\t0\t0\t0\t-\n0\t10\t2\t40\t0\t0\t1\tkill\n")
            b.write_text(head + "0\t700\t0\t0\t0\t0\t0\tkill\n1\t700\t0\t0\t0\t0\t0\tback\n")
            rc, out = run("restart-timeline", "dialtone=%s" % a, "nginx=%s" % b)
        self.assertEqual(rc, 0)
        self.assertEqual(out.splitlines(), [
            "| s from the kill | dialtone | nginx |",
            "|---|---:|---:|",
            "| -1 | 900 |  |",
            "| 0 (kill) | 10 · 502×2 · 503×40 · socket×1 | 700 |",
            "| 1 (back) |  | 700 |",
        ])


class PlotData(unittest.TestCase):
    def test_rates_cdf_of_a_recorded_file(self):
        raw = FIXTURES / "raw"
        rc, out = run("plotdata", "rates", "7000", str(raw / "rates-nginx.txt"))
        self.assertEqual(out, (raw / "expected" / "rates-nginx.dat").read_text())

    def test_no_rate_from_first_byte_gives_no_points(self):
        self.assertEqual(report.plot_rates(7000, [(FIXTURES / "raw" / "rates-h2o.txt").read_text()]), [])

    def test_rates_cdf_keeps_about_two_thousand_points(self):
        text = "".join("%d 1\n" % (i * 7) for i in range(4321, 0, -1))
        points = report.plot_rates(700, [text])
        # The points the awk this replaced printed: i = 2.1605, 4.321, ... by float steps, which
        # end just short of 4321.
        self.assertEqual(len(points), 2000)
        self.assertEqual(points[0], "2 0.000462856")
        self.assertEqual(points[-1], "4320 0.999769")
        fractions = [float(p.split()[1]) for p in points]
        self.assertEqual(fractions, sorted(fractions))

    def test_range_is_at_least_50_to_150_and_at_most_0_to_300(self):
        self.assertEqual(report.plot_range([]), "50:150")
        self.assertEqual(report.plot_range(["99 0.5\n101 1\n"]), "50:150")
        self.assertEqual(report.plot_range(["43 0.5\n151 1\n"]), "40:160")
        self.assertEqual(report.plot_range(["-5 0.5\n420 1\n"]), "0:300")


class SoakVerdict(unittest.TestCase):
    def test_rss_slope_limit_is_1_percent_of_the_median_or_256_kib(self):
        # 13 MiB: 1% is 133 KiB, under the floor: 25.5 KiB/min x 10 passes, 25.6 does not.
        self.assertTrue(report.rss_flat(25.5, 13312, 13312, 13312))
        self.assertFalse(report.rss_flat(25.6, 13312, 13312, 13312))
        # 100 MiB: 1% is 1024 KiB.
        self.assertTrue(report.rss_flat(102.3, 102400, 102400, 102400))
        self.assertFalse(report.rss_flat(102.4, 102400, 102400, 102400))

    def test_rss_last_minute_within_5_percent_of_the_first(self):
        self.assertTrue(report.rss_flat(0, 10000, 10000, 10500))
        self.assertTrue(report.rss_flat(0, 10000, 10000, 9500))
        self.assertFalse(report.rss_flat(0, 10000, 10000, 10501))

    def test_descriptors_last_minute_within_10_percent_of_the_first(self):
        self.assertTrue(report.fds_flat(1000, 1100))
        self.assertTrue(report.fds_flat(1000, 900))
        self.assertFalse(report.fds_flat(1000, 1101))

    def test_no_samples_is_not_flat(self):
        self.assertFalse(report.rss_flat(0.0, None, None, None))
        self.assertFalse(report.fds_flat(None, 5))

    def test_slope_is_per_minute_and_zero_when_undefined(self):
        self.assertAlmostEqual(report.slope_per_minute([(0, 100), (60000, 110), (120000, 120)]), 10)
        self.assertAlmostEqual(report.slope_per_minute([(0, 5), (30000, 2.5)]), -5)
        self.assertEqual(report.slope_per_minute([(1000, 100)]), 0)
        self.assertEqual(report.slope_per_minute([]), 0)

    def write_run(self, folder, samples, **run):
        facts = dict(minutes="2", warmup="0", workers="2", port="1", wrk_connections="32",
                     rate="8000", dialup_n="2000", abort_rate="100", abort_n="200",
                     slowloris_n="300", slowloris_every="3000", head_ms="10000", drain_s="1",
                     after_rss="12000", after_fds="20", final_static="200, 1 bytes",
                     final_dialup="200, 1 bytes", exit_rc="0", exit_ms="5")
        facts.update(run)
        (folder / "run.tsv").write_text("".join("%s\t%s\n" % kv for kv in facts.items()))
        lines = ["t_ms\tphase\trss_kib\tfds\tthreads\tcpu_s"]
        lines += ["%d\t%s\t%d\t%d\t3\t%d.00" % s for s in samples]
        (folder / "samples.tsv").write_text("\n".join(lines) + "\n")

    def test_a_flat_run_passes_and_a_growing_one_fails(self):
        with tempfile.TemporaryDirectory() as tmp:
            d = Path(tmp)
            flat = [(-1000, "idle", 5000, 20, 0)]
            flat += [(t * 1000, "load", 12000, 500, t) for t in range(120)]
            self.write_run(d, flat)
            lines, ok = report.soak_report(d)
            self.assertTrue(ok, "\n".join(lines))
            self.assertIn("RSS flat: yes", "\n".join(lines))
            growing = [(t * 1000, "load", 12000 + 10 * t, 500, t) for t in range(120)]
            self.write_run(d, growing)
            lines, ok = report.soak_report(d)
            self.assertFalse(ok)
            self.assertIn("RSS flat: no", "\n".join(lines))
            self.assertIn(" 600.0 KiB ", "\n".join(lines))  # 10 KiB a second
            self.write_run(d, flat, drain_s="")
            self.assertFalse(report.soak_report(d)[1])
            self.write_run(d, flat, final_dialup="000, 0 bytes")
            self.assertFalse(report.soak_report(d)[1])

    def test_recorded_soak_runs_print_what_the_awk_printed(self):
        soak = FIXTURES / "soak"
        rc, out = run("soak", str(soak))
        self.assertEqual(out, (soak / "expected" / "soak-3min.txt").read_text())
        self.assertEqual(rc, 1)  # descriptors not flat
        with tempfile.TemporaryDirectory() as tmp:
            d = Path(tmp) / "run"
            shutil.copytree(soak, d)
            facts = (d / "run.tsv").read_text()
            facts = facts.replace("minutes\t3", "minutes\t2").replace("warmup\t60", "warmup\t30")
            facts = facts.replace("drain_s\t2", "drain_s\t").replace("after_fds\t23", "after_fds\t24")
            (d / "run.tsv").write_text(facts)
            rc, out = run("soak", str(d))
            self.assertEqual(out, (soak / "expected" / "soak-2min.txt").read_text())
            (d / "dialup" / "0003.json").write_text('{"completed": 1')
            rc, out = run("soak", str(d))
            self.assertIn("    no report (see %s)\n" % (d / "dialup" / "client.err"), out)

    def test_log_summary_ranks_by_count_then_text_last_first(self):
        log = "a 1\nb 22\na 3\nc\nb 4\nd 5\ne\nf\n"
        self.assertEqual(
            report.log_summary(log),
            ["          2 b N", "          2 a N", "          1 f", "          1 e",
             "          1 d N"],
        )


if __name__ == "__main__":
    unittest.main()
