// One WalSession call (proto WalSession): a writer's redo, acknowledged per chunk, in order, once
// durable — with the writing and the syncing of its chunks overlapped.
//
// Two threads per call. The call's own thread reads each chunk and hands it to the timeline at
// once (Timeline::WriteWalAs: checked, indexed and written, not synced). The acknowledger thread
// makes what was written durable (Timeline::MakeWalDurable: one fdatasync for every chunk written
// by then) and answers the chunks it covered, in order. So a writer may send its next flush
// before the previous one is answered, and every chunk that arrives while a sync runs shares the
// next one: group commit across flushes, on top of the timeline's across callers.
//
// Errors: a refused chunk (fenced, corrupt, a gap) ends the call with its error after the chunks
// before it are answered; nothing of it is stored. A failed sync ends the call at once (the
// timeline then refuses redo until it is reopened): the writer sees the call cancelled, and the
// page server's log says why. A writer that goes away ends it too.
#pragma once

#include "absl/status/status.h"
#include "proto/page_service.grpc.pb.h"
#include "service/metrics.h"
#include "storage/timeline.h"

namespace pageserver::service {

absl::Status RunWalSession(storage::Timeline& timeline, PageServerMetrics& metrics,
                           grpc::ServerContext& context,
                           grpc::ServerReaderWriter<StreamWalResponse, WalChunk>& stream);

}  // namespace pageserver::service
