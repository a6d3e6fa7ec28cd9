// What a batch of matchmaker actions holds for one session, by type: the
// matchmaker tests' way of reading its output.
#pragma once

#include "serendip/matchmaker.hpp"

#include <variant>
#include <vector>

namespace serendip::unit {

template <class T>
std::vector<const T*> of(const actions& a, const session_id& to) {
    std::vector<const T*> out;
    for (const auto& x : a)
        if (x.to == to)
            if (auto* p = std::get_if<T>(&x.what)) out.push_back(p);
    return out;
}

}  // namespace serendip::unit
