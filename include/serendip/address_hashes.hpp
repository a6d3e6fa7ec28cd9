#pragma once

#include <string>

namespace serendip {

// A client's address as the abuse rules know it: hex HMAC-SHA256 under
// today's key and under yesterday's (client_address.hpp). Empty if unknown.
struct address_hashes {
    std::string today, yesterday;
};

}  // namespace serendip
