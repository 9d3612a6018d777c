#include "inbox.hpp"

#include <chrono>

namespace dialtone {

bool Inbox::post(std::function<void()> task) {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_)
        return false;
    bool wake = tasks_.empty(); // a send is already on its way otherwise
    tasks_.push_back(std::move(task));
    // Under the lock, so the handle cannot be closed between the check and the send.
    if (wake)
        uv_async_send(async_);
    return true;
}

std::vector<std::function<void()>> Inbox::take() {
    std::vector<std::function<void()>> tasks;
    std::lock_guard<std::mutex> lock(mu_);
    tasks.swap(tasks_);
    return tasks;
}

std::vector<std::function<void()>> Inbox::close() {
    std::vector<std::function<void()>> tasks;
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    tasks.swap(tasks_);
    return tasks;
}

void Inbox::request_destroyed() {
    if (live_.fetch_sub(1, std::memory_order_acq_rel) == 1 && reaping_.load()) {
        std::lock_guard<std::mutex> lock(mu_);
        cv_.notify_all();
    }
}

bool Inbox::hand_over(std::function<void()> destroy) {
    if (post(destroy))
        return true;
    std::lock_guard<std::mutex> lock(mu_);
    if (abandoned_)
        return false;
    orphans_.push_back(std::move(destroy));
    cv_.notify_all();
    return true;
}

uint64_t Inbox::reap(uint64_t deadline_ms) {
    reaping_.store(true);
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
        while (!orphans_.empty()) {
            std::vector<std::function<void()>> batch;
            batch.swap(orphans_);
            lock.unlock();
            for (auto &destroy : batch)
                destroy();
            lock.lock();
        }
        uint64_t now = uv_hrtime() / 1000000;
        if (live_.load(std::memory_order_acquire) == 0 || now >= deadline_ms)
            break;
        // Woken by a hand-over or by the last request going; the timeout only bounds a lost
        // race between the two checks above and a release on another thread.
        uint64_t wait = deadline_ms - now < 50 ? deadline_ms - now : 50;
        cv_.wait_for(lock, std::chrono::milliseconds(wait));
    }
    abandoned_ = true;
    return live_.load(std::memory_order_acquire);
}

} // namespace dialtone
