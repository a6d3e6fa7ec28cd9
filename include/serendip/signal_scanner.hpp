#pragma once
// The relay's fast decoder: one pass over a client message, without a DOM,
// for the two shapes of `signal` that clients send all the time (a session
// description, an ICE candidate). It validates and re-encodes as it reads.
//
// It answers only when it is sure: the decoded signal, byte for byte what
// the DOM decoder (protocol::decode_reference) makes of the same text. For
// anything else (another type, an error, a shape it does not take, such as
// a nested value under an unknown key) it returns nothing and the DOM
// decoder decides. tests/fuzz/fuzz_signal_diff.cpp holds it to that.
// Pure; no I/O.

#include "serendip/protocol.hpp"

#include <optional>
#include <string_view>

namespace serendip::protocol {

std::optional<signal> scan_signal(std::string_view text);

}  // namespace serendip::protocol
