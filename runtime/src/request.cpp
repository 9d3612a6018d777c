#include "request.hpp"

#include "http.hpp"

#include <cstddef>

namespace dialtone {

void *Arena::alloc(size_t size)
{
    constexpr size_t align = alignof(std::max_align_t);
    size = (size + align - 1) & ~(align - 1);
    if (size == 0) size = align;
    if (used_ + size > cap_) {
        size_t block = size > 4096 ? size : 4096;
        blocks_.push_back(std::unique_ptr<char[]>(new (std::nothrow) char[block]));
        if (!blocks_.back()) {
            blocks_.pop_back();
            return nullptr;
        }
        used_ = 0;
        cap_ = block;
    }
    void *p = blocks_.back().get() + used_;
    used_ += size;
    return p;
}

Request::~Request() = default;

void Request::release()
{
    if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
}

std::string_view Request::header(std::string_view name) const
{
    for (const HeaderRef &h : headers)
        if (http::iequals(header_name(h), name)) return header_value(h);
    return {};
}

void Request::cancel_timers()
{
    for (RequestTimer *t : timers) {
        uv_timer_stop(&t->handle);
        uv_close(reinterpret_cast<uv_handle_t *>(&t->handle),
                 [](uv_handle_t *h) { delete static_cast<RequestTimer *>(h->data); });
    }
    timers.clear();
}

} // namespace dialtone
