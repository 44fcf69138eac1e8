// C++ names for the symbolizer's demangling (harness/tests/symbolize.rs): templates with
// parameter packs, lambdas, std::map/std::string instantiations, and the clones (.isra,
// .constprop, .cold) gcc -O2 makes of them; a class local to a function template and an
// inheriting constructor, which GNU's demangler names otherwise than LLVM's. Built `g++ -g -O2`.
#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <tuple>
#include <vector>

namespace leakfix {

template <typename T> struct Box {
    T value;
    T doubled() const { return value * 2; }
};

template <typename T> T sum_doubled(const std::vector<T>& xs) {
    T total{};
    for (const auto& x : xs)
        total += Box<T>{x}.doubled();
    return total;
}

template <typename... Args> std::size_t count_args(Args&&... args) {
    return std::tuple_size<decltype(std::forward_as_tuple(args...))>::value;
}

struct Registry {
    std::map<std::string, int> entries;
    int lookup(const std::string& key) const {
        auto it = entries.find(key);
        return it == entries.end() ? -1 : it->second;
    }
    virtual ~Registry() {}
};

// A class local to a function template: LLVM prints the function with its return type.
template <typename T> T scaled(T x) {
    struct Scale {
        T factor;
        __attribute__((noinline)) T apply(T v) const { return v * factor + 1; }
    };
    static T calls;
    calls += 1;
    return Scale{T(3)}.apply(x) + calls;
}

// An inheriting constructor (`using Base::Base`): named after the class it constructs.
struct Base {
    int n;
    __attribute__((noinline)) explicit Base(int v) : n(v * 2) {}
};
struct Derived : Base {
    using Base::Base;
    std::string label{"derived"};
};

}  // namespace leakfix

int main(int argc, char** argv) {
    std::vector<double> reals(argc, 1.5);
    std::vector<int> ints(argc, 3);
    leakfix::Registry registry;
    registry.entries.emplace(argv[0], argc);
    registry.entries[std::string("two")] = 2;
    std::sort(ints.begin(), ints.end(), [](int a, int b) { return a > b; });
    std::stable_sort(ints.begin(), ints.end(), [](int a, int b) { return a % 3 < b % 3; });
    std::printf("%f %d %d %zu\n", leakfix::sum_doubled(reals), leakfix::sum_doubled(ints), registry.lookup(argv[0]),
                leakfix::count_args(argc, argv, reals));
    leakfix::Derived derived(argc);
    std::printf("%d %d %zu\n", leakfix::scaled(argc), derived.n, derived.label.size());
    return 0;
}
