#!/usr/bin/env python3
"""Writes ShopApp, a labelled log kept OUT of the miner's development (issue 12): the
business logging of a shopping app (Kotlin client, gRPC and HTTP calls to its back end,
cart, checkout, payments, push, offline queue), 1,500 lines in the Loghub-2k layout.

    python3 bench/logs/extra/make_held_out.py [OUT_DIR]

It is made the way make_extra.py makes the development logs (statements written after
what such an app prints, values drawn to carry optional parts, names without digits,
lists of any length, values that look like words, statements sharing a long prefix),
but it was written before the miner change it checks and is never part of
`accord-bench ga`'s choice: it is scored only with ga.py, before and after a change, as
a check on logs the change was not made on. Fixed seed; the output is committed.
"""
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_extra import Fixed, Part, among, fixed, hexid, labelled, pick, some, word, write  # noqa: E402
import make_extra  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))

PRODUCTS = ["Espresso Machine", "USB-C cable", "running shoes", "Yoga Mat", "desk lamp",
            "coffee beans", "Phone Case", "notebook", "Wireless Charger", "backpack",
            "water bottle", "Headphones"]
SKUS = lambda r: f"SKU-{r.randrange(10000, 99999)}"
CITIES = ["Berlin", "Lisbon", "New York", "São Paulo", "Tokyo", "Lyon", "Cape Town", "Austin"]
CARRIERS = ["DHL", "UPS", "FedEx", "Hermes", "La Poste", "Royal Mail"]
METHODS = ["card", "paypal", "google_pay", "klarna", "gift card", "ideal"]
SCREENS = ["home", "search", "product", "cart", "checkout", "orders", "profile", "wishlist"]
RPCS = ["shop.v1.CatalogService/ListProducts", "shop.v1.CatalogService/GetProduct",
        "shop.v1.CartService/AddItem", "shop.v1.CartService/GetCart",
        "shop.v1.OrderService/PlaceOrder", "shop.v1.OrderService/ListOrders",
        "shop.v1.PaymentService/Authorize", "shop.v1.UserService/GetProfile"]
GRPC_FAIL = ["UNAVAILABLE", "DEADLINE_EXCEEDED", "UNAUTHENTICATED", "RESOURCE_EXHAUSTED",
             "INTERNAL", "NOT_FOUND"]
COUPONS = ["WELCOME10", "SUMMER", "FREESHIP", "BLACKFRIDAY", "vip-2025", "spring_sale"]
USERS = ["alice", "bob", "carol", "dave", "erin", "mallory", "guest", "u_48213", "trent"]
EXPERIMENTS = ["new_checkout", "one_tap_buy", "reco_v2", "dark_banner", "free_ship_threshold"]


def money(r):
    cents = r.randrange(99, 49999)
    cur = pick(r, ["EUR", "EUR", "USD", "BRL", "JPY"])
    return f"{cents // 100}.{cents % 100:02d} {cur}"


def order_id(r):
    return f"ORD-{r.randrange(100000, 999999)}"


def duration(r):
    return pick(r, [f"{r.randrange(1, 900)}ms", f"{r.randrange(1, 9)}.{r.randrange(10, 99)}s"])


def shop_app():
    S = []

    def st(weight, level, tag, fmt, *gens):
        S.append((weight, level, tag, fmt, gens))

    # gRPC client interceptor.
    st(70, "D", "GrpcClient", "--> {} deadline={}", lambda r: pick(r, RPCS), lambda r: Part(f"{pick(r, [5, 10, 30])}s", "<*>s"))
    st(62, "D", "GrpcClient", "<-- {} OK in {} ({} bytes)", lambda r: pick(r, RPCS), duration,
       lambda r: r.randrange(20, 90000))
    st(10, "W", "GrpcClient", "<-- {} {} in {}: {}", lambda r: pick(r, RPCS), lambda r: word(pick(r, GRPC_FAIL)), duration,
       labelled({"upstream connect error or disconnect/reset before headers": "upstream connect error or disconnect/reset before headers",
                 "deadline exceeded after 9.998s": "deadline exceeded after <*>s",
                 "Request had invalid authentication credentials": "Request had invalid authentication credentials",
                 "no healthy upstream": "no healthy upstream"}))
    st(8, "I", "GrpcClient", "channel to {} changed state to {}",
       lambda r: pick(r, ["api.shop.example:443", "payments.shop.example:443", "catalog"]),
       lambda r: word(pick(r, ["CONNECTING", "READY", "TRANSIENT_FAILURE", "IDLE", "SHUTDOWN"])))
    st(6, "I", "GrpcClient", "retrying {} in {} (attempt {} of {})", lambda r: pick(r, RPCS), duration,
       lambda r: r.randrange(1, 4), lambda r: 4)
    # Plain HTTP for images and config.
    st(30, "D", "HttpClient", "GET {} -> {} ({}, {})",
       lambda r: f"https://img.shop.example/p/{r.randrange(10**5)}/{pick(r, ['thumb', 'large', 'hero'])}.webp",
       lambda r: pick(r, [200] * 6 + [304, 404]), duration,
       lambda r: among(pick(r, [f"{r.randrange(1, 900)} KB", f"{r.randrange(1, 9)}.{r.randrange(10)} MB", "cached"]), {"cached"}))
    st(6, "I", "RemoteConfig", "fetched {} keys from {} in {}{}", lambda r: r.randrange(10, 200),
       lambda r: word(pick(r, ["remote", "cache"])), duration,
       lambda r: Fixed(pick(r, ["", "", f" (stale by {r.randrange(1, 60)} min)"])))
    st(7, "I", "Experiments", "user {} assigned to {} variant {}", lambda r: pick(r, USERS),
       lambda r: pick(r, EXPERIMENTS), lambda r: pick(r, ["control", "treatment", "A", "B", "holdout"]))
    # Navigation and screens.
    st(45, "I", "Navigator", "navigate {} -> {}", lambda r: word(pick(r, SCREENS)), lambda r: word(pick(r, SCREENS)))
    st(20, "D", "ScreenTracker", "screen {} rendered in {} ({} items)", lambda r: word(pick(r, SCREENS)),
       duration, lambda r: r.randrange(0, 60))
    st(6, "W", "ScreenTracker", "slow frame on {}: {} ms ({} frames dropped)", lambda r: word(pick(r, SCREENS)),
       lambda r: r.randrange(17, 700), lambda r: r.randrange(1, 40))
    # Catalog and search.
    st(25, "I", "SearchRepository", "search \"{}\" returned {} results in {}",
       lambda r: pick(r, PRODUCTS + ["red", "gift for dad", "sale", "usb c"]), lambda r: r.randrange(0, 300), duration)
    st(8, "I", "SearchRepository", "search \"{}\" returned no results, suggesting {}",
       lambda r: pick(r, ["espreso", "yoga matt", "hedphones", "xyz"]),
       lambda r: ", ".join(f"\"{p}\"" for p in some(r, PRODUCTS, 1, 3)))
    st(22, "D", "ProductRepository", "loaded product {} \"{}\" from {}", SKUS, lambda r: pick(r, PRODUCTS),
       lambda r: word(pick(r, ["network", "memory", "disk"])))
    st(6, "W", "ProductRepository", "product {} is out of stock in {}", SKUS, lambda r: pick(r, CITIES))
    st(8, "I", "Recommendations", "showing {} recommendations for {}: {}", lambda r: r.randrange(1, 6), SKUS,
       lambda r: ", ".join(SKUS(r) for _ in range(r.randrange(1, 6))))
    # Cart.
    st(30, "I", "CartViewModel", "added {} x {} to cart (cart now {} items, {})", lambda r: r.randrange(1, 4),
       SKUS, lambda r: r.randrange(1, 15), money)
    st(14, "I", "CartViewModel", "removed {} from cart (cart now {} items, {})", SKUS,
       lambda r: r.randrange(0, 10), money)
    st(9, "I", "CartViewModel", "coupon {} applied: -{}", lambda r: pick(r, COUPONS), money)
    st(6, "W", "CartViewModel", "coupon {} rejected: {}", lambda r: pick(r, COUPONS),
       fixed(["expired", "minimum order not reached", "already used", "not valid in your country"]))
    st(6, "I", "CartSync", "merged guest cart into account {}: {} items kept, {} dropped",
       lambda r: pick(r, USERS), lambda r: r.randrange(0, 9), lambda r: r.randrange(0, 3))
    # Checkout and payments.
    st(16, "I", "Checkout", "checkout started for {} with {} items, total {}", lambda r: pick(r, USERS),
       lambda r: r.randrange(1, 12), money)
    st(12, "I", "Checkout", "shipping to {} via {}{}", lambda r: pick(r, CITIES), lambda r: pick(r, CARRIERS),
       lambda r: Fixed(pick(r, ["", "", " (express)", f" (pickup point {r.randrange(100, 999)})"])))
    st(12, "I", "Payments", "authorizing {} with {}", money, lambda r: word(pick(r, METHODS)))
    st(10, "I", "Payments", "payment {} authorized for order {} ({})", lambda r: f"pi_{hexid(r, 16)}", order_id,
       lambda r: word(pick(r, METHODS)))
    st(5, "W", "Payments", "payment {} declined for order {}: {}", lambda r: f"pi_{hexid(r, 16)}", order_id,
       fixed(["insufficient_funds", "card_declined", "expired_card", "do_not_honor"]))
    st(4, "I", "Payments", "3-D Secure challenge {} for order {} after {}",
       lambda r: word(pick(r, ["passed", "failed", "abandoned"])), order_id, duration)
    st(11, "I", "OrderRepository", "order {} placed: {} items, {}, delivery {}", order_id,
       lambda r: r.randrange(1, 12), money, lambda r: pick(r, ["tomorrow", "in 2-3 days", f"on {r.randrange(1, 28)} Mar"]))
    st(8, "I", "OrderRepository", "order {} status {} -> {}", order_id,
       lambda r: word(pick(r, ["PLACED", "PAID", "PACKED", "SHIPPED", "OUT_FOR_DELIVERY"])),
       lambda r: word(pick(r, ["PAID", "PACKED", "SHIPPED", "OUT_FOR_DELIVERY", "DELIVERED", "CANCELLED"])))
    st(6, "I", "OrderRepository", "tracking for order {}: {} {} ({} events)", order_id,
       lambda r: pick(r, CARRIERS), lambda r: f"{hexid(r, 4).upper()}{r.randrange(10**8, 10**9)}", lambda r: r.randrange(1, 12))
    # Offline queue and sync of the user's data.
    st(14, "D", "OfflineQueue", "queued {} (queue size {})",
       lambda r: word(pick(r, ["AddToWishlist", "UpdateAddress", "RateProduct", "MarkNotificationRead"])),
       lambda r: r.randrange(1, 40))
    st(10, "I", "OfflineQueue", "flushed {} actions in {}, {} failed", lambda r: r.randrange(1, 40), duration,
       lambda r: r.randrange(0, 3))
    st(5, "W", "OfflineQueue", "dropping {} after {} attempts: {}",
       lambda r: word(pick(r, ["AddToWishlist", "UpdateAddress", "RateProduct"])), lambda r: r.randrange(3, 9),
       fixed(["item no longer exists", "validation failed", "conflict"]))
    st(8, "I", "WishlistSync", "wishlist synced: {} added, {} removed, {} unchanged", lambda r: r.randrange(0, 9),
       lambda r: r.randrange(0, 5), lambda r: r.randrange(0, 60))
    # Session, push, analytics.
    st(8, "I", "AuthRepository", "signed in as {} via {}", lambda r: pick(r, USERS + [f"{pick(r, USERS)}@mail.example"]),
       lambda r: word(pick(r, ["password", "google", "apple", "magic link"])))
    st(6, "I", "AuthRepository", "access token refreshed, expires in {}", lambda r: pick(r, ["3600s", "15 min", "1h"]))
    st(3, "W", "AuthRepository", "refresh token rejected, signing out {}", lambda r: pick(r, USERS))
    st(10, "I", "PushHandler", "push {} received for {}: {}", lambda r: f"msg_{hexid(r, 10)}",
       lambda r: word(pick(r, ["order_update", "price_drop", "cart_reminder", "promo"])),
       lambda r: f"\"{pick(r, ['Your order has shipped', 'Price drop on ' + pick(r, PRODUCTS), 'You left something in your cart', 'Weekend sale'])}\"")
    st(5, "D", "PushHandler", "notification channel {} is {}", lambda r: word(pick(r, ["orders", "promotions", "account"])),
       lambda r: word(pick(r, ["enabled", "disabled", "muted"])))
    st(18, "D", "Analytics", "event {} queued ({} params, batch {}/{})",
       lambda r: word(pick(r, ["view_item", "add_to_cart", "begin_checkout", "purchase", "search", "screen_view"])),
       lambda r: r.randrange(0, 12), lambda r: r.randrange(1, 50), lambda r: 50)
    st(7, "D", "Analytics", "uploaded batch of {} events in {}", lambda r: r.randrange(1, 50), duration)
    st(5, "I", "ImageCache", "trimmed memory cache to {} ({} entries evicted)",
       lambda r: pick(r, [f"{r.randrange(1, 90)} MB", f"{r.randrange(100, 999)} KB"]), lambda r: r.randrange(1, 300))
    st(4, "E", "CrashReporter", "uncaught {} on thread {}",
       fixed(["java.lang.IllegalStateException: Fragment not attached to a context",
              "java.lang.NullPointerException",
              "kotlinx.coroutines.JobCancellationException: Job was cancelled"]),
       lambda r: pick(r, ["main", "DefaultDispatcher-worker-4", "OkHttp Dispatcher"]))
    st(4, "I", "AppLifecycle", "app moved to {} after {}", lambda r: word(pick(r, ["foreground", "background"])), duration)
    st(3, "I", "AppLifecycle", "cold start in {} (process {}, {})", duration, lambda r: r.randrange(2000, 30000),
       lambda r: word(pick(r, ["launcher", "push", "deep link"])))
    st(5, "I", "DeepLinks", "opening {} from {}",
       lambda r: pick(r, [f"shop://product/{SKUS(r)}", f"https://shop.example/o/{order_id(r)}", "shop://cart"]),
       lambda r: word(pick(r, ["push", "email", "browser", "qr"])))
    return S


if __name__ == "__main__":
    make_extra.OUT = OUT
    make_extra.LINES = 1500
    write("ShopApp", shop_app(), 15)
