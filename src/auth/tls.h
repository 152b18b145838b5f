// TLS material of one end of a connection to the page server, read from PEM files and checked
// before anything listens or connects, so that a wrong path or a mismatched key is an error
// naming the file, not a failed handshake later.
//
// The server: a certificate and its key (--tls-cert, --tls-key); with a CA (--tls-ca), every
// client must present a certificate that CA signed (mTLS).
// A client: the CA that signed the server's certificate (--tls-ca) turns TLS on; a certificate
// and its key (--tls-cert, --tls-key) for a server that asks for one.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace pageserver::auth {

struct TlsFiles {
  std::string cert_path;  // this end's certificate (PEM; a chain, leaf first)
  std::string key_path;   // its private key (PEM, unencrypted)
  std::string ca_path;    // the CA certificates that sign the other end's (PEM)

  bool empty() const { return cert_path.empty() && key_path.empty() && ca_path.empty(); }
};

// The files' contents, as gRPC takes them.
struct TlsPems {
  std::string cert;
  std::string key;
  std::string ca;  // empty: none given
};

// For a server: cert and key required and matching; ca optional (then client certificates are
// required and checked against it). InvalidArgument naming the flag and the file otherwise.
absl::StatusOr<TlsPems> LoadServerTls(const TlsFiles& files);

// For a client: ca required; cert and key together or neither.
absl::StatusOr<TlsPems> LoadClientTls(const TlsFiles& files);

}  // namespace pageserver::auth
