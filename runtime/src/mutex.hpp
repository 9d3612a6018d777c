// A mutex the compiler can reason about: clang's -Wthread-safety checks that members marked
// DT_GUARDED_BY(mu) are touched only with `mu` held, and that functions marked DT_REQUIRES(mu)
// are called with it. With other compilers the annotations are empty. (std::mutex carries no
// annotations in libstdc++, hence the thin wrapper.)
#pragma once

#include <mutex>

#if defined(__clang__)
#define DT__TSA(x) __attribute__((x))
#else
#define DT__TSA(x)
#endif

#define DT_CAPABILITY(name) DT__TSA(capability(name))
#define DT_SCOPED_CAPABILITY DT__TSA(scoped_lockable)
#define DT_GUARDED_BY(m) DT__TSA(guarded_by(m))
#define DT_REQUIRES(...) DT__TSA(requires_capability(__VA_ARGS__))
#define DT_ACQUIRE(...) DT__TSA(acquire_capability(__VA_ARGS__))
#define DT_RELEASE(...) DT__TSA(release_capability(__VA_ARGS__))
#define DT_EXCLUDES(...) DT__TSA(locks_excluded(__VA_ARGS__))
#define DT_NO_THREAD_SAFETY_ANALYSIS DT__TSA(no_thread_safety_analysis)

namespace dialtone {

class DT_CAPABILITY("mutex") Mutex {
  public:
    void lock() DT_ACQUIRE() { m_.lock(); }
    void unlock() DT_RELEASE() { m_.unlock(); }

  private:
    std::mutex m_;
};

// Holds `m` for its scope; unlock()/lock() let a scope drop it around a call (plugin code).
class DT_SCOPED_CAPABILITY MutexLock {
  public:
    explicit MutexLock(Mutex &m) DT_ACQUIRE(m) : m_(m) { m_.lock(); }
    ~MutexLock() DT_RELEASE() {
        if (held_)
            m_.unlock();
    }
    MutexLock(const MutexLock &) = delete;
    MutexLock &operator=(const MutexLock &) = delete;
    void unlock() DT_RELEASE() {
        m_.unlock();
        held_ = false;
    }

  private:
    Mutex &m_;
    bool held_ = true;
};

} // namespace dialtone
