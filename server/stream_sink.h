// Where a session's replies go: the Stream RPC currently attached to it.
#ifndef TENSORD_SERVER_STREAM_SINK_H_
#define TENSORD_SERVER_STREAM_SINK_H_

#include <google/protobuf/arena.h>

#include <memory>
#include <string>

#include "tensord/v1/runtime.pb.h"

namespace tensord {

// A client message parsed into an arena of its own: parsing a batch of ops
// costs a few block allocations instead of several per op.
struct InboundMessage {
  std::unique_ptr<google::protobuf::Arena> arena;
  v1::ClientMessage* msg = nullptr;  // owned by arena

  static InboundMessage New() {
    InboundMessage m;
    google::protobuf::ArenaOptions options;
    options.start_block_size = 16 << 10;
    options.max_block_size = 1 << 20;
    m.arena = std::make_unique<google::protobuf::Arena>(options);
    m.msg = google::protobuf::Arena::CreateMessage<v1::ClientMessage>(m.arena.get());
    return m;
  }
};

// Threading: the session calls these under its stream lock, from its
// executor thread or a gRPC thread; none of them blocks.
class StreamSink {
 public:
  virtual ~StreamSink() = default;
  // Queues a reply for writing; drops it if the stream has ended (the
  // session keeps unacknowledged replies for the next stream).
  virtual void Send(std::shared_ptr<const v1::ServerMessage> msg) = 0;
  // Asks the stream to read the next client message (after backpressure).
  virtual void ResumeReading() = 0;
  // Ends the stream with OK once queued replies are written.
  virtual void FinishWhenFlushed() = 0;
  // Ends the stream now with a gRPC status code and message (a sequence
  // gap, a newer stream of the session, the session closed); unwritten
  // replies are dropped.
  virtual void Refuse(int code, std::string message) = 0;
};

}  // namespace tensord

#endif  // TENSORD_SERVER_STREAM_SINK_H_
