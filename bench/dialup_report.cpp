#include "dialup_report.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <optional>
#include <sys/resource.h>
#include <vector>

namespace dialtone::bench::dialup {

Report build_report(const Client &cl) {
    Report r;
    std::vector<double> rate_first, rate_request, ttfb, transfer, connect, first_read, body;
    double nominal = cl.opt.expect_rate, tol = cl.opt.tolerance_pct / 100.0;
    for (uint32_t i = 0; i < cl.opt.connections; ++i) {
        const Conn &c = cl.conns[i];
        ++r.failures[static_cast<int>(c.failure)];
        if (c.t_connected != 0)
            connect.push_back(seconds(c.t_connected - c.t_start) * 1e3);
        if (c.failure != Failure::none)
            continue;
        ++r.completed;
        const Transfer &t = c.transfer;
        body.push_back(static_cast<double>(t.body_bytes));
        std::optional<double> rq = rate_from_request(t);
        if (!rq)
            continue;
        rate_request.push_back(*rq);
        r.on_rate_request += within(*rq, nominal, tol);
        ttfb.push_back(static_cast<double>(static_cast<int64_t>(t.t_first - t.t_request)) / 1e6);
        transfer.push_back(static_cast<double>(t.body_bytes) / *rq);
        first_read.push_back(static_cast<double>(t.first_read_bytes));
        if (std::optional<double> rf = rate_from_first_byte(t)) {
            rate_first.push_back(*rf);
            r.on_rate_first += within(*rf, nominal, tol);
        } else {
            ++r.undefined_first;
        }
    }
    r.rate_first = summarize(std::move(rate_first));
    r.rate_request = summarize(std::move(rate_request));
    r.ttfb_ms = summarize(std::move(ttfb));
    r.transfer_s = summarize(std::move(transfer));
    r.connect_ms = summarize(std::move(connect));
    r.first_read = summarize(std::move(first_read));
    r.body = summarize(std::move(body));
    r.lag = summarize(cl.lag_ms);
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    r.cpu_user =
        static_cast<double>(ru.ru_utime.tv_sec) + static_cast<double>(ru.ru_utime.tv_usec) / 1e6;
    r.cpu_sys =
        static_cast<double>(ru.ru_stime.tv_sec) + static_cast<double>(ru.ru_stime.tv_usec) / 1e6;
    r.max_rss_mib = static_cast<double>(ru.ru_maxrss) / 1024.0;
    return r;
}

namespace {

void json_summary(const char *name, const Summary &s, double nominal, bool last = false) {
    printf("  \"%s\": {\"count\": %zu, \"min\": %.6g, \"p1\": %.6g, \"p50\": %.6g, "
           "\"p99\": %.6g, \"max\": %.6g, \"mean\": %.6g",
           name, s.count, s.min, s.p1, s.p50, s.p99, s.max, s.mean);
    if (nominal > 0 && s.count > 0)
        printf(", \"pct_of_nominal\": {\"min\": %.4f, \"p1\": %.4f, \"p50\": %.4f, "
               "\"p99\": %.4f, \"max\": %.4f}",
               100 * s.min / nominal, 100 * s.p1 / nominal, 100 * s.p50 / nominal,
               100 * s.p99 / nominal, 100 * s.max / nominal);
    printf("}%s\n", last ? "" : ",");
}

std::string json_escape(const std::string &s) {
    std::string out;
    for (char ch : s) {
        if (ch == '"' || ch == '\\')
            out += '\\';
        if (static_cast<unsigned char>(ch) < 0x20)
            continue;
        out += ch;
    }
    return out;
}

} // namespace

void print_json(const Client &cl, const Report &r) {
    const Options &o = cl.opt;
    uint32_t errors = o.connections - r.completed;
    printf("{\n  \"host\": \"%s\", \"port\": %d, \"path\": \"%s\", \"connections\": %u,\n",
           json_escape(o.host).c_str(), o.port, json_escape(o.path).c_str(), o.connections);
    printf("  \"ramp_per_sec\": %g, \"timeout_sec\": %g, \"expect_rate\": %g, "
           "\"tolerance_pct\": %g, \"read_batch\": %" PRId64 ", \"source_addrs\": %zu,\n",
           o.ramp_per_sec, o.timeout_sec, o.expect_rate, o.tolerance_pct, o.read_batch,
           std::max<size_t>(cl.sources.size(), 1));
    printf("  \"read_rate\": %g, \"rcvbuf\": %d, \"mss\": %d,\n", o.read_rate, o.rcvbuf, o.mss);
    printf("  \"completed\": %u, \"errors\": %u, \"error_kinds\": {", r.completed, errors);
    for (int k = 1; k < static_cast<int>(Failure::count); ++k)
        printf("%s\"%s\": %u", k > 1 ? ", " : "", kFailureNames[k], r.failures[k]);
    printf("},\n  \"bad_statuses\": {");
    bool first = true;
    for (auto &[status, n] : cl.bad_statuses) {
        printf("%s\"%d\": %u", first ? "" : ", ", status, n);
        first = false;
    }
    printf("},\n  \"sys_errors\": {");
    first = true;
    for (auto &[what, n] : cl.sys_errors) {
        printf("%s\"%s\": %u", first ? "" : ", ", json_escape(what).c_str(), n);
        first = false;
    }
    printf("},\n  \"interrupted\": %s, \"deadline_hit\": %s,\n", cl.interrupted ? "true" : "false",
           cl.deadline_hit ? "true" : "false");
    printf("  \"criterion\": \"rate_from_first_byte\",\n");
    printf("  \"on_rate_first_byte\": %u, \"on_rate_from_request\": %u, "
           "\"rate_first_byte_undefined\": %u,\n",
           r.on_rate_first, r.on_rate_request, r.undefined_first);
    json_summary("rate_first_byte", r.rate_first, o.expect_rate);
    json_summary("rate_from_request", r.rate_request, o.expect_rate);
    json_summary("ttfb_ms", r.ttfb_ms, 0);
    json_summary("transfer_s", r.transfer_s, 0);
    json_summary("connect_ms", r.connect_ms, 0);
    json_summary("first_read_bytes", r.first_read, 0);
    json_summary("body_bytes", r.body, 0);
    json_summary("loop_lag_ms", r.lag, 0);
    double ramp = cl.t_ramp_done ? seconds(cl.t_ramp_done - cl.t_begin) : -1;
    printf("  \"wall_s\": %.4f, \"ramp_s\": %.4f, \"reads\": %" PRIu64
           ", \"reads_without_kernel_timestamp\": %" PRIu64 ",\n",
           seconds(cl.t_end - cl.t_begin), ramp, cl.reads, cl.reads_unstamped);
    printf("  \"client_cpu_user_s\": %.3f, \"client_cpu_sys_s\": %.3f, "
           "\"client_max_rss_mib\": %.1f\n}\n",
           r.cpu_user, r.cpu_sys, r.max_rss_mib);
}

// The per-connection rates behind the report's percentiles, for a distribution plot.
bool write_rates(const Client &cl, const std::string &path) {
    FILE *f = fopen(path.c_str(), "w");
    if (f == nullptr)
        return false;
    for (uint32_t i = 0; i < cl.opt.connections; ++i) {
        const Conn &c = cl.conns[i];
        if (c.failure != Failure::none)
            continue;
        std::string line;
        for (std::optional<double> rate :
             {rate_from_first_byte(c.transfer), rate_from_request(c.transfer)}) {
            if (!line.empty())
                line += ' ';
            line += rate ? std::to_string(*rate) : std::string("-");
        }
        fprintf(f, "%s\n", line.c_str());
    }
    return fclose(f) == 0;
}

namespace {

void print_row(const char *label, const Summary &s, const char *fmt, double scale = 1) {
    printf("  %-30s", label);
    for (double v : {s.min, s.p1, s.p50, s.p99, s.max}) {
        if (s.count == 0)
            printf("%10s", "-");
        else
            printf(fmt, v * scale);
    }
    printf("\n");
}

} // namespace

void print_text(const Client &cl, const Report &r) {
    const Options &o = cl.opt;
    double nominal = o.expect_rate;
    printf("dialup_client: %u connections to %s port %d, GET %s%s%s\n", o.connections,
           o.host.c_str(), o.port, o.path.c_str(), cl.interrupted ? " (INTERRUPTED)" : "",
           cl.deadline_hit ? " (RUN DEADLINE HIT)" : "");
    if (o.read_rate > 0)
        printf("  paced reader: %g B/s per connection\n", o.read_rate);
    printf("  completed %u, errors %u (", r.completed, o.connections - r.completed);
    for (int k = 1; k < static_cast<int>(Failure::count); ++k)
        printf("%s%s %u", k > 1 ? ", " : "", kFailureNames[k], r.failures[k]);
    printf(")\n");
    for (auto &[status, n] : cl.bad_statuses)
        printf("    status %d: %u\n", status, n);
    for (auto &[what, n] : cl.sys_errors)
        printf("    %s: %u\n", what.c_str(), n);
    printf("  %-30s%10s%10s%10s%10s%10s\n", "", "min", "p1", "p50", "p99", "max");
    print_row("rate from first byte, B/s", r.rate_first, "%10.0f");
    if (nominal > 0)
        print_row("  % of nominal", r.rate_first, "%10.2f", 100 / nominal);
    print_row("rate from request, B/s", r.rate_request, "%10.0f");
    if (nominal > 0)
        print_row("  % of nominal", r.rate_request, "%10.2f", 100 / nominal);
    print_row("request to first body read, ms", r.ttfb_ms, "%10.2f");
    print_row("request to last byte, s", r.transfer_s, "%10.3f");
    print_row("connect, ms", r.connect_ms, "%10.2f");
    print_row("first read, body bytes", r.first_read, "%10.0f");
    print_row("body bytes", r.body, "%10.0f");
    print_row("client loop lag, ms", r.lag, "%10.2f");
    if (r.undefined_first > 0)
        printf("  %u completed in a single read: no first-byte rate for them\n", r.undefined_first);
    if (nominal > 0)
        printf("  on rate (within %g%% of %g B/s): first-byte rate %u of %u (the criterion), "
               "rate from request %u of %u\n",
               o.tolerance_pct, nominal, r.on_rate_first, o.connections, r.on_rate_request,
               o.connections);
    printf("  wall %.3f s (ramp %.3f s), client CPU %.2f s (user %.2f, sys %.2f), "
           "client max RSS %.1f MiB\n",
           seconds(cl.t_end - cl.t_begin),
           cl.t_ramp_done ? seconds(cl.t_ramp_done - cl.t_begin) : -1.0, r.cpu_user + r.cpu_sys,
           r.cpu_user, r.cpu_sys, r.max_rss_mib);
    if (cl.reads_unstamped > 0)
        printf("  %" PRIu64 " of %" PRIu64 " reads had no kernel timestamp (timed when read)\n",
               cl.reads_unstamped, cl.reads);
}

} // namespace dialtone::bench::dialup
