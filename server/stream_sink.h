// Where a session's replies go: the Stream RPC currently attached to it.
#ifndef TENSORD_SERVER_STREAM_SINK_H_
#define TENSORD_SERVER_STREAM_SINK_H_

#include "tensord/v1/runtime.pb.h"

namespace tensord {

class StreamSink {
 public:
  virtual ~StreamSink() = default;
  // Queues a reply. Blocks while too many reply bytes are unsent (flow
  // control for large fetches); returns at once if the stream has ended.
  virtual void Send(v1::ServerMessage msg) = 0;
  // Asks the stream to read the next client message (after backpressure).
  virtual void ResumeReading() = 0;
  // Ends the stream with OK once queued replies are written.
  virtual void FinishWhenFlushed() = 0;
};

}  // namespace tensord

#endif  // TENSORD_SERVER_STREAM_SINK_H_
