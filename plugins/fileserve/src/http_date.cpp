// HTTP-date formatting and parsing (RFC 9110 §5.6.7), with civil-calendar arithmetic instead of
// gmtime_r/timegm: no locale, no time zone, no locks, and the same result on every libc.
#include <dialtone/fileserve/http.hpp>

#include <dialtone/plugin_support/text.hpp>

#include <algorithm>
#include <ctime>

namespace dialtone::fileserve {
namespace {

constexpr std::string_view short_days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::string_view long_days[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                          "Thursday", "Friday", "Saturday"};
constexpr std::string_view months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

constexpr int64_t seconds_per_day = 86400;
constexpr int64_t max_formatted_time = 253402300799; // 9999-12-31T23:59:59Z

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

struct Civil {
    int64_t year;
    unsigned month; // 1..12
    unsigned day;   // 1..31
};

Civil civil_from_days(int64_t z) {
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    return {static_cast<int64_t>(yoe) + era * 400 + (m <= 2), m, d};
}

bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(int64_t y, unsigned m) {
    static constexpr unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

void put2(char *out, unsigned v) {
    out[0] = static_cast<char>('0' + v / 10);
    out[1] = static_cast<char>('0' + v % 10);
}

// A cursor over the field value; each step consumes on success only.
class Scanner {
  public:
    explicit Scanner(std::string_view s) : s_(s) {}

    bool done() const { return s_.empty(); }
    bool literal(std::string_view lit) {
        if (!s_.starts_with(lit))
            return false;
        s_.remove_prefix(lit.size());
        return true;
    }
    // Exactly `n` digits.
    bool digits(std::size_t n, unsigned &out) {
        if (s_.size() < n)
            return false;
        unsigned v = 0;
        for (std::size_t i = 0; i < n; ++i) {
            if (s_[i] < '0' || s_[i] > '9')
                return false;
            v = v * 10 + static_cast<unsigned>(s_[i] - '0');
        }
        s_.remove_prefix(n);
        out = v;
        return true;
    }
    template <std::size_t N> bool one_of(const std::string_view (&names)[N], unsigned &index) {
        for (std::size_t i = 0; i < N; ++i) {
            if (literal(names[i])) {
                index = static_cast<unsigned>(i);
                return true;
            }
        }
        return false;
    }
    // "HH:MM:SS"
    bool time_of_day(unsigned &h, unsigned &m, unsigned &s) {
        return digits(2, h) && literal(":") && digits(2, m) && literal(":") && digits(2, s);
    }

  private:
    std::string_view s_;
};

std::optional<int64_t> to_time(int64_t year, unsigned month, unsigned day, unsigned h, unsigned m,
                               unsigned s) {
    // Second 60 is a leap second, which RFC 9110's grammar allows; POSIX time folds it.
    if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) || h > 23 ||
        m > 59 || s > 60)
        return std::nullopt;
    return days_from_civil(year, month, day) * seconds_per_day + h * 3600 + m * 60 + s;
}

} // namespace

void format_http_date(int64_t t, char *out) {
    t = std::clamp<int64_t>(t, 0, max_formatted_time);
    const int64_t days = t / seconds_per_day;
    const auto secs = static_cast<unsigned>(t % seconds_per_day);
    const Civil c = civil_from_days(days);
    const std::string_view wday = short_days[(days + 4) % 7]; // 1970-01-01 was a Thursday
    const std::string_view mon = months[c.month - 1];
    const auto year = static_cast<unsigned>(c.year);

    std::copy(wday.begin(), wday.end(), out);
    out[3] = ',';
    out[4] = ' ';
    put2(out + 5, c.day);
    out[7] = ' ';
    std::copy(mon.begin(), mon.end(), out + 8);
    out[11] = ' ';
    put2(out + 12, year / 100);
    put2(out + 14, year % 100);
    out[16] = ' ';
    put2(out + 17, secs / 3600);
    out[19] = ':';
    put2(out + 20, secs / 60 % 60);
    out[22] = ':';
    put2(out + 23, secs % 60);
    std::copy_n(" GMT", 4, out + 25);
}

std::optional<int64_t> parse_http_date(std::string_view field, int64_t now) {
    const std::string_view s = plugin_support::trim_ows(field);
    unsigned wday = 0, day = 0, mon = 0, y_hi = 0, y_lo = 0, h = 0, m = 0, sec = 0;

    // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
    if (Scanner p(s); p.one_of(short_days, wday) && p.literal(", ") && p.digits(2, day) &&
                      p.literal(" ") && p.one_of(months, mon) && p.literal(" ") &&
                      p.digits(2, y_hi) && p.digits(2, y_lo) && p.literal(" ") &&
                      p.time_of_day(h, m, sec) && p.literal(" GMT") && p.done())
        return to_time(y_hi * 100 + y_lo, mon + 1, day, h, m, sec);

    // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"
    if (Scanner p(s); p.one_of(long_days, wday) && p.literal(", ") && p.digits(2, day) &&
                      p.literal("-") && p.one_of(months, mon) && p.literal("-") &&
                      p.digits(2, y_lo) && p.literal(" ") && p.time_of_day(h, m, sec) &&
                      p.literal(" GMT") && p.done()) {
        // RFC 9110: a year more than 50 years in the future is the most recent past year with
        // the same last two digits.
        const int64_t this_year = civil_from_days(now / seconds_per_day).year;
        int64_t year = this_year - this_year % 100 + y_lo;
        if (year > this_year + 50)
            year -= 100;
        else if (year <= this_year - 50)
            year += 100;
        return to_time(year, mon + 1, day, h, m, sec);
    }

    // asctime: "Sun Nov  6 08:49:37 1994" (day padded with a space)
    if (Scanner p(s); p.one_of(short_days, wday) && p.literal(" ") && p.one_of(months, mon) &&
                      p.literal(" ") && (p.literal(" ") ? p.digits(1, day) : p.digits(2, day)) &&
                      p.literal(" ") && p.time_of_day(h, m, sec) && p.literal(" ") &&
                      p.digits(2, y_hi) && p.digits(2, y_lo) && p.done())
        return to_time(y_hi * 100 + y_lo, mon + 1, day, h, m, sec);

    return std::nullopt;
}

std::optional<int64_t> parse_http_date(std::string_view s) {
    return parse_http_date(s, static_cast<int64_t>(std::time(nullptr)));
}

} // namespace dialtone::fileserve
