// The server's RFC 6455 framing without sockets: the handshake key, the
// frames it sends, UTF-8 checking, and the reader of client frames fed
// whole, in pieces and byte by byte.

#include "serendip/websocket_codec.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ws = serendip::ws;
using kind = ws::event::kind;

namespace {

// A client frame: masked, with the shortest length encoding unless `len_bytes` forces one.
std::string client_frame(int op, std::string_view payload, bool fin = true, int len_bytes = 0) {
    std::string f;
    f += static_cast<char>((fin ? 0x80 : 0) | op);
    std::size_t n = payload.size();
    if (len_bytes == 0) len_bytes = n < 126 ? 1 : n <= 0xFFFF ? 2 : 8;
    if (len_bytes == 1) {
        f += static_cast<char>(0x80 | n);
    } else if (len_bytes == 2) {
        f += static_cast<char>(0x80 | 126);
        f += static_cast<char>(n >> 8);
        f += static_cast<char>(n & 0xFF);
    } else {
        f += static_cast<char>(0x80 | 127);
        for (int i = 7; i >= 0; --i) f += static_cast<char>((std::uint64_t(n) >> (8 * i)) & 0xFF);
    }
    const unsigned char mask[4] = {0x37, 0xfa, 0x21, 0x3d};
    f.append(reinterpret_cast<const char*>(mask), 4);
    for (std::size_t i = 0; i < n; ++i) f += static_cast<char>(payload[i] ^ mask[i % 4]);
    return f;
}

struct seen {
    kind what;
    std::string payload;
    std::uint16_t code;
    bool operator==(const seen&) const = default;
};

std::ostream& operator<<(std::ostream& os, const seen& s) {
    return os << "{" << static_cast<int>(s.what) << " '" << s.payload << "' " << s.code << "}";
}

// Every event of `bytes` fed in pieces of `piece` bytes (0: all at once).
std::vector<seen> read_all(const std::string& bytes, std::size_t piece = 0, std::size_t max = 64 * 1024) {
    ws::frame_reader reader(max);
    std::string copy = bytes;
    std::vector<seen> out;
    std::size_t at = 0;
    do {
        std::size_t n = piece == 0 ? copy.size() - at : std::min(piece, copy.size() - at);
        ws::frame_reader::input in{copy.data() + at, n};
        at += n;
        while (auto e = reader.next(in)) out.push_back({e->what, std::string(e->payload), e->code});
    } while (at < copy.size());
    return out;
}

seen text(std::string s) { return {kind::text, std::move(s), 0}; }
seen violation(std::uint16_t code) { return {kind::violation, "", code}; }

// The violations' reasons are for people; the tests compare the codes.
std::vector<seen> codes_only(std::vector<seen> events) {
    for (auto& e : events)
        if (e.what == kind::violation) e.payload.clear();
    return events;
}

}  // namespace

TEST(websocket_handshake, accept_key_is_rfc_6455s_example_and_bad_keys_get_none) {
    EXPECT_EQ(ws::accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    for (std::string_view bad : {"", "dGhlIHNhbXBsZSBub25jZQ", "dGhlIHNhbXBsZSBub25jZQ=", "dGhlIHNhbXBsZSBub25jZQ==x",
                                 "dGhlIHNhbXBsZSBub25j*Q==", "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"})
        EXPECT_FALSE(ws::accept_key(bad)) << bad;
}

TEST(websocket_frames, server_frames_are_final_unmasked_with_the_shortest_length) {
    for (std::size_t n : {std::size_t(0), std::size_t(125), std::size_t(126), std::size_t(65535), std::size_t(65536)}) {
        std::string payload(n, 'x');
        auto f = ws::wire_frame::text(payload);
        auto b = f.bytes();
        std::size_t head = n < 126 ? 2 : n <= 0xFFFF ? 4 : 10;
        ASSERT_EQ(b.size(), head + n) << n;
        EXPECT_EQ(static_cast<unsigned char>(b[0]), 0x81) << n;
        EXPECT_EQ(static_cast<unsigned char>(b[1]) & 0x80, 0) << "never masked";
        EXPECT_EQ(static_cast<unsigned char>(b[1]), n < 126 ? n : n <= 0xFFFF ? 126 : 127) << n;
        if (head == 4) {
            EXPECT_EQ((static_cast<unsigned char>(b[2]) << 8) | static_cast<unsigned char>(b[3]), n);
        }
        if (head == 10) {
            EXPECT_EQ(static_cast<unsigned char>(b[7]), 1) << "65536 is 0x0000000000010000";
        }
        EXPECT_EQ(f.payload(), payload);
    }
    auto close = ws::wire_frame::control(ws::opcode::close, ws::close_payload(1009, "message too large"));
    EXPECT_EQ(close.bytes().substr(0, 4), std::string("\x88\x13\x03\xf1", 4));
    EXPECT_EQ(close.payload().substr(2), "message too large");
    EXPECT_EQ(ws::close_payload(1000, std::string(200, 'r')).size(), 125u) << "a control frame holds 125 bytes";
    EXPECT_EQ(ws::wire_frame::raw("HTTP/1.1 101 x\r\n\r\n").bytes(), "HTTP/1.1 101 x\r\n\r\n");
}

TEST(websocket_utf8, valid_text_in_any_pieces_and_every_kind_of_invalid) {
    std::string good = "plain ascii, then \xc3\xa9 \xe2\x82\xac \xf0\x9f\x8e\x89 and \xf4\x8f\xbf\xbf";
    for (std::size_t cut = 0; cut <= good.size(); ++cut) {
        ws::utf8_checker c;
        auto* p = reinterpret_cast<const unsigned char*>(good.data());
        ASSERT_TRUE(c.feed(p, cut)) << cut;
        ASSERT_TRUE(c.feed(p + cut, good.size() - cut)) << cut;
        EXPECT_TRUE(c.complete()) << cut;
    }
    for (const std::string& bad : {std::string("\xc0\xaf"), std::string("\xc1\xbf"), std::string("\xe0\x80\xaf"),
                                   std::string("\xed\xa0\x80"), std::string("\xf0\x80\x80\xaf"),
                                   std::string("\xf4\x90\x80\x80"), std::string("\xf5\x80\x80\x80"), std::string("\xff"),
                                   std::string("\x80"), std::string("\xe2\x28\xa1"),
                                   std::string("sixteen ascii by\xfe")}) {
        ws::utf8_checker c;
        EXPECT_FALSE(c.feed(reinterpret_cast<const unsigned char*>(bad.data()), bad.size())) << bad;
    }
    ws::utf8_checker cut_short;
    EXPECT_TRUE(cut_short.feed(reinterpret_cast<const unsigned char*>("\xe2\x82"), 2));
    EXPECT_FALSE(cut_short.complete());
}

TEST(websocket_reader, a_message_that_arrived_whole_is_handed_over_where_it_lies) {
    std::string bytes = client_frame(1, R"({"type":"leave"})");
    ws::frame_reader reader(1024);
    ws::frame_reader::input in{bytes.data(), bytes.size()};
    auto e = reader.next(in);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->what, kind::text);
    EXPECT_EQ(e->payload, R"({"type":"leave"})");
    EXPECT_EQ(e->payload.data(), bytes.data() + 6) << "unmasked in place, not copied";
    EXPECT_EQ(in.size, 0u);
    EXPECT_EQ(reader.held_bytes(), 0u);
}

TEST(websocket_reader, the_same_events_however_the_bytes_are_cut) {
    std::string long_text(70'000, 'a');
    std::string bytes = client_frame(1, "{}") + client_frame(9, "are you there") + client_frame(1, "") +
                        client_frame(1, "frag", false) + client_frame(10, "pong!") + client_frame(0, "ment", false) +
                        client_frame(9, "") + client_frame(0, "ed \xf0\x9f\x8e\x89") + client_frame(1, long_text) +
                        client_frame(1, std::string(300, 'b')) + client_frame(8, ws::close_payload(1001, "bye"));
    std::vector<seen> want = {text("{}"),
                              {kind::ping, "are you there", 0},
                              text(""),
                              {kind::pong, "pong!", 0},
                              {kind::ping, "", 0},
                              text("fragmented \xf0\x9f\x8e\x89"),
                              text(long_text),
                              text(std::string(300, 'b')),
                              {kind::close, "bye", 1001}};
    for (std::size_t piece : {0, 1, 2, 3, 5, 7, 13, 64, 1000, 4096, 65536})
        EXPECT_EQ(read_all(bytes, piece, 100'000), want) << "pieces of " << piece;
}

TEST(websocket_reader, framing_violations_close_1002) {
    struct violation_case {
        const char* what;
        std::string bytes;
    };
    for (const auto& [what, bytes] : std::vector<violation_case>{
             {"continuation without a start", client_frame(0, "{}")},
             {"a new message inside a fragmented one", client_frame(1, "{", false) + client_frame(1, "}")},
             {"a fragmented ping", client_frame(9, "a", false)},
             {"a ping over 125 bytes", client_frame(9, std::string(126, 'p'))},
             {"an unmasked frame", std::string("\x81\x02{}", 4)},
             {"a reserved bit", "\xC1" + client_frame(1, "{}").substr(1)},
             {"a reserved opcode", client_frame(3, "{}")},
             {"a control opcode past pong", client_frame(11, "")},
             {"a 16-bit length under 126", client_frame(1, "short", true, 2)},
             {"a 64-bit length under 65536", client_frame(1, "short", true, 8)},
             {"a close frame of one byte", client_frame(8, "x")},
             {"close code 1005 (never sent)", client_frame(8, ws::close_payload(1005, ""))},
             {"close code 999", client_frame(8, ws::close_payload(999, ""))},
             {"close code 2000 (unassigned)", client_frame(8, ws::close_payload(2000, ""))},
         }) {
        EXPECT_EQ(codes_only(read_all(bytes)), std::vector<seen>{violation(1002)}) << what;
        EXPECT_EQ(codes_only(read_all(bytes, 1)), std::vector<seen>{violation(1002)}) << what << ", byte by byte";
    }
}

TEST(websocket_reader, invalid_utf8_closes_1007_at_once_or_at_the_message_end) {
    EXPECT_EQ(codes_only(read_all(client_frame(1, "ok \xff and more"))), std::vector<seen>{violation(1007)});
    EXPECT_EQ(codes_only(read_all(client_frame(1, "cut \xe2\x82"))), std::vector<seen>{violation(1007)});
    EXPECT_EQ(codes_only(read_all(client_frame(1, "\xe2", false) + client_frame(0, "\x28\xa1"))),
              std::vector<seen>{violation(1007)});
    EXPECT_EQ(codes_only(read_all(client_frame(8, ws::close_payload(1000, "\xc0\xaf")))),
              std::vector<seen>{violation(1007)});
    // An invalid sequence is found as soon as it arrives, before the message ends.
    std::string bytes = client_frame(1, "bad \xff" + std::string(100, ' '));
    ws::frame_reader reader(1024);
    ws::frame_reader::input in{bytes.data(), 14};
    auto e = reader.next(in);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code, 1007);
    EXPECT_TRUE(reader.done());
}

TEST(websocket_reader, the_size_limit_is_the_whole_messages_and_is_checked_on_each_header) {
    EXPECT_EQ(read_all(client_frame(1, std::string(1000, 'x')), 0, 1000), std::vector<seen>{text(std::string(1000, 'x'))});
    EXPECT_EQ(codes_only(read_all(client_frame(1, std::string(1001, 'x')), 0, 1000)), std::vector<seen>{violation(1009)});
    // Fragments add up; control frames between them do not count.
    std::string frags = client_frame(1, std::string(600, 'x'), false) + client_frame(9, std::string(125, 'p')) +
                        client_frame(0, std::string(400, 'x'));
    EXPECT_EQ(read_all(frags, 0, 1000).back(), text(std::string(1000, 'x')));
    EXPECT_EQ(codes_only(read_all(frags + client_frame(1, std::string(600, 'y'), false) + client_frame(0, std::string(401, 'y')), 0, 1000)).back(),
              violation(1009));
    // A header announcing 10 MB, or a length with the top bit set, is refused with nothing after it.
    for (std::uint64_t length : {std::uint64_t(10 * 1024 * 1024), std::uint64_t(0x8000000000000000ull)}) {
        std::string head = "\x81\xff";
        for (int i = 7; i >= 0; --i) head += static_cast<char>((length >> (8 * i)) & 0xFF);
        head += "mask";
        EXPECT_EQ(codes_only(read_all(head)), std::vector<seen>{violation(1009)}) << length;
    }
}

TEST(websocket_reader, binary_close_and_violations_end_the_reading) {
    EXPECT_EQ(read_all(client_frame(2, "bin") + client_frame(1, "{}")), (std::vector<seen>{{kind::binary, "", 0}}));
    EXPECT_EQ(read_all(client_frame(2, "bin", false)), (std::vector<seen>{{kind::binary, "", 0}})) << "at its header";
    EXPECT_EQ(read_all(client_frame(8, "") + client_frame(1, "{}")),
              (std::vector<seen>{{kind::close, "", ws::close_code::no_status}}));
    EXPECT_EQ(codes_only(read_all(client_frame(3, "") + client_frame(1, "{}"))), std::vector<seen>{violation(1002)});
    for (std::uint16_t code : {1000, 1001, 1003, 1007, 1011, 1014, 3000, 4999, 5000, 65535})
        EXPECT_EQ(read_all(client_frame(8, ws::close_payload(code, ""))), (std::vector<seen>{{kind::close, "", code}}))
            << code;
}

TEST(websocket_reader, what_a_split_message_held_is_freed_once_it_is_over) {
    std::string bytes = client_frame(1, std::string(5000, 'x'));
    ws::frame_reader reader(64 * 1024);
    ws::frame_reader::input first{bytes.data(), 3000};
    EXPECT_FALSE(reader.next(first));
    EXPECT_GE(reader.held_bytes(), 2990u);
    reader.trim();
    EXPECT_GE(reader.held_bytes(), 2990u) << "kept while the message is under way";
    ws::frame_reader::input rest{bytes.data() + 3000, bytes.size() - 3000};
    auto e = reader.next(rest);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->payload.size(), 5000u);
    reader.trim();
    EXPECT_EQ(reader.held_bytes(), 0u);
}
