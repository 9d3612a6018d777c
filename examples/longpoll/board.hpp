// The message board of examples/longpoll: an object of the application, served by the
// in-process plugin "board" (board.cpp), which reaches it through InProcessPlugin::context.
#pragma once

#include <dialtone/plugin.h>

#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace longpoll {

class Board;

// One parked GET /poll. Lives in its request's arena (req_alloc), so it goes with the request.
// While it is on the board, the board holds a reference to the request (req_retain), which keeps
// both alive; whoever takes it off the board (a publish, the stop, its timeout, its abort) takes
// that reference over and releases it when done.
struct Waiter {
    Board *board;
    dt_req_t *req;
    std::string_view topic; // in the request's query: valid as long as the request
    dt_timer_id_t timeout;  // the timer that answers 204
};

// Topics and the polls waiting on them. Every member locks: the hooks of different requests run
// concurrently on the server's worker threads (a poll parks on one while a publish takes the
// topic's waiters on the other, and a timeout or an abort removes one), and on_stop runs on the
// application's own thread, the one that calls Server::stop.
class Board {
  public:
    // Parks `w` under its topic: true, or false once the board is stopping (the poll is then
    // answered at once). Throws std::bad_alloc.
    bool park(Waiter *w);
    // Takes `w` off the board: true, or false if a publish, the stop or its timeout took it
    // first (then that one answers it).
    bool unpark(Waiter *w);
    // Takes every waiter of `topic`, in arrival order.
    std::vector<Waiter *> take(std::string_view topic);
    // Takes every waiter of every topic, and refuses to park any more. Throws std::bad_alloc
    // (then nothing was taken).
    std::vector<Waiter *> stop();
    // How many polls wait on `topic` now.
    size_t waiting(std::string_view topic) const;

  private:
    mutable std::mutex mu_;
    std::map<std::string, std::vector<Waiter *>, std::less<>> topics_; // guarded by mu_
    bool stopping_ = false;                                            // guarded by mu_
};

// The plugin's entry function, for dialtone::InProcessPlugin{"board", board_entry, &board}.
const dt_plugin_t *board_entry(const dt_api_t *host_api);

} // namespace longpoll
