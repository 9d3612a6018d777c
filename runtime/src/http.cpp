#include "http.hpp"

#include <arpa/inet.h>
#include <cstdio>
#include <netinet/in.h>

namespace dialtone::http {

void split_target(std::string_view target, std::string_view &path, std::string_view &query,
                  bool &has_query) {
    size_t q = target.find('?');
    has_query = q != std::string_view::npos;
    path = target.substr(0, q);
    query = has_query ? target.substr(q + 1) : std::string_view();
}

int hex_value(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

namespace {

bool valid_utf8(std::string_view s) {
    size_t i = 0;
    while (i < s.size()) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            ++i;
            continue;
        }
        size_t n;
        uint32_t cp;
        if ((c & 0xE0) == 0xC0) {
            n = 1;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        for (size_t k = 1; k <= n; ++k) {
            if (i + k >= s.size())
                return false;
            unsigned char cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (cc & 0x3F);
        }
        // Overlong forms, surrogates and values past U+10FFFF are invalid.
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
            return false;
        i += n + 1;
    }
    return true;
}

} // namespace

int normalize_path(std::string_view raw, std::string &out) {
    out.clear();
    if (raw.empty() || raw[0] != '/')
        return 400;
    // Decode first; an encoded '/' or NUL is refused so that decoding cannot change the
    // segment structure the client sent (Apache's AllowEncodedSlashes Off does the same).
    // Without escapes the raw path is its own decoding: no copy.
    bool escaped = raw.find('%') != std::string_view::npos;
    std::string copy;
    if (escaped)
        copy.reserve(raw.size());
    for (size_t i = 0; i < raw.size(); ++i) {
        char c = raw[i];
        if (c == '%') {
            if (i + 2 >= raw.size())
                return 400;
            int hi = hex_value(raw[i + 1]), lo = hex_value(raw[i + 2]);
            if (hi < 0 || lo < 0)
                return 400;
            char d = static_cast<char>(hi * 16 + lo);
            if (d == '\0' || d == '/')
                return 400;
            copy.push_back(d);
            i += 2;
        } else if (c == '\0') {
            return 400;
        } else if (escaped) {
            copy.push_back(c);
        }
    }
    std::string_view decoded = escaped ? std::string_view(copy) : raw;
    if (!valid_utf8(decoded))
        return 400;

    out.reserve(decoded.size());
    size_t i = 0;
    const size_t n = decoded.size();
    while (i < n) {
        // decoded[i] == '/': read the next segment.
        size_t start = i + 1;
        size_t end = decoded.find('/', start);
        if (end == std::string::npos)
            end = n;
        std::string_view seg(decoded.data() + start, end - start);
        bool last = end == n;
        if (seg.empty() || seg == ".") {
            if (last && (out.empty() || out.back() != '/'))
                out.push_back('/');
        } else if (seg == "..") {
            if (out.empty())
                return 400; // climbing above the root
            // Drop the last segment of out (out never ends with '/' here unless it is "/").
            while (!out.empty() && out.back() == '/')
                out.pop_back();
            size_t slash = out.rfind('/');
            if (slash == std::string::npos)
                return 400;
            out.resize(slash);
            if (last)
                out.push_back('/');
        } else {
            if (!out.empty() && out.back() == '/')
                out.pop_back();
            out.push_back('/');
            out.append(seg);
            if (last)
                break;
        }
        i = end;
    }
    if (out.empty())
        out.push_back('/');
    return 0;
}

bool prefix_matches(std::string_view prefix, std::string_view path) {
    if (path.substr(0, prefix.size()) != prefix)
        return false;
    if (path.size() == prefix.size())
        return true;
    return prefix.back() == '/' || path[prefix.size()] == '/';
}

std::string_view reason_phrase(int status) {
    switch (status) {
    case 100:
        return "Continue";
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 303:
        return "See Other";
    case 304:
        return "Not Modified";
    case 307:
        return "Temporary Redirect";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 411:
        return "Length Required";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 416:
        return "Range Not Satisfiable";
    case 417:
        return "Expectation Failed";
    case 421:
        return "Misdirected Request";
    case 422:
        return "Unprocessable Content";
    case 426:
        return "Upgrade Required";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}

size_t format_http_date(time_t t, char *buf) {
    static const char days[][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    tm g;
    gmtime_r(&t, &g);
    return static_cast<size_t>(snprintf(buf, 30, "%s, %02d %s %04d %02d:%02d:%02d GMT",
                                        days[g.tm_wday], g.tm_mday, months[g.tm_mon],
                                        g.tm_year + 1900, g.tm_hour, g.tm_min, g.tm_sec));
}

namespace {

bool is_unreserved(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

bool is_sub_delim(char c) {
    return std::string_view("!$&'()*+,;=").find(c) != std::string_view::npos;
}

// Whether s[i] begins a valid %XX escape.
bool pct_encoded_at(std::string_view s, size_t i) {
    return i + 2 < s.size() && s[i] == '%' && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0;
}

// The bytes allowed in `s` (RFC 3986): unreserved, sub-delims, %XX and those in `extra`.
bool uri_chars(std::string_view s, std::string_view extra) {
    for (size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c == '%') {
            if (!pct_encoded_at(s, i))
                return false;
            i += 2;
        } else if (!is_unreserved(c) && !is_sub_delim(c) &&
                   extra.find(c) == std::string_view::npos) {
            return false;
        }
    }
    return true;
}

// IP-literal's inside (RFC 3986 §3.2.2): an IPv6 address or IPvFuture. Zone identifiers
// (RFC 6874) are not accepted: they mean nothing to a server.
bool valid_ip_literal(std::string_view inside) {
    if (!inside.empty() && (inside[0] == 'v' || inside[0] == 'V')) {
        size_t dot = inside.find('.');
        if (dot == std::string_view::npos || dot < 2 || dot + 1 == inside.size())
            return false;
        for (char c : inside.substr(1, dot - 1))
            if (hex_value(c) < 0)
                return false;
        for (char c : inside.substr(dot + 1))
            if (!is_unreserved(c) && !is_sub_delim(c) && c != ':')
                return false;
        return true;
    }
    char text[INET6_ADDRSTRLEN];
    if (inside.empty() || inside.size() >= sizeof text)
        return false;
    inside.copy(text, inside.size());
    text[inside.size()] = '\0';
    in6_addr addr;
    return inet_pton(AF_INET6, text, &addr) == 1;
}

bool valid_port(std::string_view port) {
    if (port.size() > 5)
        return false;
    unsigned value = 0;
    for (char c : port) {
        if (c < '0' || c > '9')
            return false;
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    return value <= 65535;
}

// path-abempty ["?" query] (RFC 3986 §3.3, §3.4).
bool valid_path_and_query(std::string_view s) {
    size_t q = s.find('?');
    return uri_chars(s.substr(0, q), ":@/") &&
           (q == std::string_view::npos || uri_chars(s.substr(q + 1), ":@/?"));
}

} // namespace

bool valid_host(std::string_view host) {
    if (host.empty())
        return true;
    std::string_view port;
    bool has_port = false;
    if (host[0] == '[') {
        size_t close = host.find(']');
        if (close == std::string_view::npos || !valid_ip_literal(host.substr(1, close - 1)))
            return false;
        std::string_view rest = host.substr(close + 1);
        if (!rest.empty() && rest[0] != ':')
            return false;
        has_port = !rest.empty();
        port = has_port ? rest.substr(1) : rest;
    } else {
        // reg-name has no ':', so the first one begins the port ("a:80:80" has a bad port).
        size_t colon = host.find(':');
        std::string_view name = host.substr(0, colon);
        if (name.empty() || !uri_chars(name, ""))
            return false;
        has_port = colon != std::string_view::npos;
        port = has_port ? host.substr(colon + 1) : std::string_view();
    }
    return !has_port || valid_port(port);
}

bool valid_target(std::string_view target) {
    if (target == "*")
        return true;
    if (!target.empty() && target[0] == '/')
        return valid_path_and_query(target);
    for (std::string_view scheme : {"http://", "https://"}) {
        if (target.size() >= scheme.size() && iequals(target.substr(0, scheme.size()), scheme)) {
            std::string_view rest = target.substr(scheme.size());
            size_t end = rest.find_first_of("/?");
            std::string_view authority = rest.substr(0, end);
            // An '@' is refused by valid_host: userinfo is an error in http URIs.
            if (authority.empty() || !valid_host(authority))
                return false;
            return end == std::string_view::npos || valid_path_and_query(rest.substr(end));
        }
    }
    return false;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size())
        return false;
    for (size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z')
            x = static_cast<char>(x + 32);
        if (y >= 'A' && y <= 'Z')
            y = static_cast<char>(y + 32);
        if (x != y)
            return false;
    }
    return true;
}

bool has_token(std::string_view value, std::string_view token) {
    return any_list_item(value, [token](std::string_view item) { return iequals(item, token); });
}

bool is_token(std::string_view s) {
    if (s.empty())
        return false;
    for (char c : s)
        if (!is_tchar(static_cast<unsigned char>(c)))
            return false;
    return true;
}

} // namespace dialtone::http
