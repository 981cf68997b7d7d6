// A library handle's life as calls see it: JS may start calls on a handle
// while others are in flight on runner threads, and the handle must not be
// freed under them. Enter/Leave count the calls; Close refuses new ones,
// and whoever frees the handle waits (AwaitIdle) for those in flight.
#pragma once
#include <condition_variable>
#include <mutex>
#include <string>

namespace sm_node {

class Guard {
public:
    // err and sentence: what a call started after Close rejects with.
    Guard(int err, std::string sentence) : err_(err), sentence_(std::move(sentence)) {}
    virtual ~Guard() = default;

    bool Enter()
    {
        std::lock_guard<std::mutex> l(mu_);
        if (closed_)
            return false;
        busy_++;
        return true;
    }
    void Leave()
    {
        std::lock_guard<std::mutex> l(mu_);
        if (--busy_ == 0)
            cv_.notify_all();
    }
    // True the first time only: that caller frees the handle. sentence,
    // if given, is what later calls are told.
    bool Close(std::string sentence = "")
    {
        std::lock_guard<std::mutex> l(mu_);
        bool first = !closed_;
        closed_ = true;
        if (first && !sentence.empty())
            sentence_ = std::move(sentence);
        return first;
    }
    bool Closed()
    {
        std::lock_guard<std::mutex> l(mu_);
        return closed_;
    }
    bool Busy()
    {
        std::lock_guard<std::mutex> l(mu_);
        return busy_ > 0;
    }
    void AwaitIdle()
    {
        std::unique_lock<std::mutex> l(mu_);
        cv_.wait(l, [this] { return busy_ == 0; });
    }
    int err() const { return err_; }
    std::string sentence()
    {
        std::lock_guard<std::mutex> l(mu_);
        return sentence_;
    }

private:
    std::mutex mu_;
    std::condition_variable cv_;
    int busy_ = 0;
    bool closed_ = false;
    int err_;
    std::string sentence_;
};

}  // namespace sm_node
