#include "http_response.hpp"

#include <dialtone/plugin_support/text.hpp>

#include <algorithm>
#include <string_view>

namespace dialtone::bench {

namespace {

using plugin_support::has_token;

// Case-insensitive comparison with a lower-case literal.
bool equals_lower(std::string_view s, std::string_view lower) {
    return s.size() == lower.size() &&
           std::equal(s.begin(), s.end(), lower.begin(), [](char x, char l) {
               return (x >= 'A' && x <= 'Z' ? static_cast<char>(x + ('a' - 'A')) : x) == l;
           });
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

int hex_digit(char ch) {
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

} // namespace

uint64_t ResponseReader::known_remaining() const {
    if (state_ == State::head || framing_ != Framing::length)
        return UINT64_MAX;
    return remaining_;
}

void ResponseReader::fail(Error e) {
    if (state_ == State::complete || state_ == State::failed)
        return;
    state_ = State::failed;
    error_ = e;
    std::string().swap(head_);
}

void ResponseReader::eof() {
    if (state_ == State::body && framing_ == Framing::until_close)
        state_ = State::complete;
    else
        fail(Error::truncated);
}

uint64_t ResponseReader::feed(const char *p, size_t n) {
    if (n == 0)
        return 0;
    if (state_ == State::complete) {
        state_ = State::failed; // bytes after the end of the response
        error_ = Error::malformed;
    }
    if (state_ == State::failed)
        return 0;
    if (state_ == State::head) {
        size_t old = head_.size();
        head_.append(p, n);
        size_t end = head_.find("\r\n\r\n", old >= 3 ? old - 3 : 0);
        if (end == std::string::npos) {
            if (head_.size() > max_head_)
                fail(Error::malformed);
            return 0;
        }
        if (end > max_head_ || !parse_head(head_.substr(0, end))) {
            fail(Error::malformed);
            return 0;
        }
        size_t body_here = head_.size() - (end + 4);
        p += n - body_here;
        n = body_here;
        std::string().swap(head_);
        state_ = State::body;
        if (framing_ == Framing::length && remaining_ == 0)
            state_ = State::complete;
        if (n == 0)
            return 0;
        if (state_ == State::complete) {
            fail(Error::malformed); // bytes past an empty body
            return 0;
        }
    }
    switch (framing_) {
    case Framing::until_close:
        return n;
    case Framing::length: {
        uint64_t take = std::min<uint64_t>(n, remaining_);
        remaining_ -= take;
        if (take < n)
            fail(Error::malformed); // bytes past Content-Length
        else if (remaining_ == 0)
            state_ = State::complete;
        return take;
    }
    case Framing::chunked:
        return feed_chunked(p, n);
    }
    return 0;
}

bool ResponseReader::parse_head(const std::string &text) {
    std::string_view head = text;
    size_t eol = head.find("\r\n");
    std::string_view status_line = head.substr(0, eol);
    // "HTTP/1.x SSS[ reason]"
    if (status_line.size() < 12 || status_line.substr(0, 7) != "HTTP/1." || status_line[8] != ' ' ||
        (status_line.size() > 12 && status_line[12] != ' '))
        return false;
    int status = 0;
    for (size_t i = 9; i < 12; ++i) {
        if (status_line[i] < '0' || status_line[i] > '9')
            return false;
        status = status * 10 + (status_line[i] - '0');
    }

    bool have_length = false, chunked = false, close = false;
    bool keep_alive = status_line[7] == '1'; // HTTP/1.1 by default; HTTP/1.0 only if asked
    uint64_t length = 0;
    while (eol != std::string_view::npos) {
        size_t start = eol + 2;
        eol = head.find("\r\n", start);
        std::string_view line =
            head.substr(start, eol == std::string_view::npos ? eol : eol - start);
        size_t colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0)
            return false;
        std::string_view name = line.substr(0, colon), value = trim(line.substr(colon + 1));
        if (equals_lower(name, "content-length")) {
            if (value.empty() || value.size() > 18)
                return false;
            uint64_t v = 0;
            for (char ch : value) {
                if (ch < '0' || ch > '9')
                    return false;
                v = v * 10 + static_cast<uint64_t>(ch - '0');
            }
            if (have_length && v != length)
                return false;
            have_length = true;
            length = v;
        } else if (equals_lower(name, "transfer-encoding")) {
            chunked = value.size() >= 7 && equals_lower(value.substr(value.size() - 7), "chunked");
        } else if (equals_lower(name, "connection")) {
            close = close || has_token(value, "close");
            keep_alive = keep_alive || has_token(value, "keep-alive");
        }
    }
    status_ = status;
    if (chunked) {
        framing_ = Framing::chunked;
    } else if (have_length) {
        framing_ = Framing::length;
        remaining_ = length;
    } else {
        framing_ = Framing::until_close;
    }
    closes_ = close || !keep_alive || framing_ == Framing::until_close;
    return true;
}

uint64_t ResponseReader::feed_chunked(const char *p, size_t n) {
    uint64_t body = 0;
    size_t i = 0;
    while (i < n) {
        char ch = p[i];
        switch (chunk_) {
        case Chunk::size:
            if (int d = hex_digit(ch); d >= 0) {
                if (remaining_ >> 56) {
                    fail(Error::malformed);
                    return body;
                }
                remaining_ = remaining_ * 16 + static_cast<uint64_t>(d);
                chunk_size_digits_ = true;
            } else if (chunk_size_digits_ && (ch == ';' || ch == ' ' || ch == '\t')) {
                chunk_ = Chunk::extension;
            } else if (chunk_size_digits_ && ch == '\r') {
                chunk_ = Chunk::size_lf;
            } else {
                fail(Error::malformed);
                return body;
            }
            ++i;
            break;
        case Chunk::extension:
            if (ch == '\r')
                chunk_ = Chunk::size_lf;
            ++i;
            break;
        case Chunk::size_lf:
            if (ch != '\n') {
                fail(Error::malformed);
                return body;
            }
            ++i;
            chunk_size_digits_ = false;
            chunk_ = remaining_ == 0 ? Chunk::trailer : Chunk::data;
            trailer_line_empty_ = true;
            break;
        case Chunk::data: {
            uint64_t take = std::min<uint64_t>(n - i, remaining_);
            body += take;
            remaining_ -= take;
            i += take;
            if (remaining_ == 0)
                chunk_ = Chunk::data_cr;
            break;
        }
        case Chunk::data_cr:
        case Chunk::data_lf:
            if (ch != (chunk_ == Chunk::data_cr ? '\r' : '\n')) {
                fail(Error::malformed);
                return body;
            }
            chunk_ = chunk_ == Chunk::data_cr ? Chunk::data_lf : Chunk::size;
            ++i;
            break;
        case Chunk::trailer:
            ++i;
            if (ch == '\n') {
                if (trailer_line_empty_) {
                    if (i != n)
                        fail(Error::malformed); // bytes after the last chunk
                    else
                        state_ = State::complete;
                    return body;
                }
                trailer_line_empty_ = true;
            } else if (ch != '\r') {
                trailer_line_empty_ = false;
            }
            break;
        }
    }
    return body;
}

} // namespace dialtone::bench
