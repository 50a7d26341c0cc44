// The admission policy of unauthenticated connections (admission.ts), on
// its own: nobody is refused; a full table evicts the oldest connection of
// the address that holds the most; an address at its share evicts its own.
import { test } from "node:test"
import assert from "node:assert/strict"
import { AdmissionTable } from "../../host/fleet/device/admission-policy.ts"
import {
    addressGroup,
    defaultMaxPending,
} from "../../host/fleet/device/admission.ts"

test("a full table evicts the oldest connection of the address holding the most", () => {
    const t = new AdmissionTable<string>({ capacity: 6, perAddress: 6 })
    for (let i = 0; i < 4; i++)
        assert.deepEqual(t.add(`a${i}`, "A", `a${i}`), [])
    assert.deepEqual(t.add("b0", "B", "b0"), [])
    assert.deepEqual(t.add("b1", "B", "b1"), [])
    // a device on a third address gets in; A (4) pays, its oldest first
    assert.deepEqual(t.add("c0", "C", "c0"), ["a0"])
    assert.deepEqual(t.add("c1", "C", "c1"), ["a1"])
    // now A, B and C hold 2 each: one of the biggest holders pays, never C's newest
    const victim = t.add("d0", "D", "d0")
    assert.equal(victim.length, 1)
    assert.match(victim[0], /^(a2|b0|c0)$/)
    assert.equal(t.size, 6)
    assert.equal(t.heldBy("D"), 1)
})

test("an address at its share replaces its own oldest; nobody is refused", () => {
    const t = new AdmissionTable<string>({ capacity: 100, perAddress: 3 })
    for (let i = 0; i < 3; i++)
        assert.deepEqual(t.add(`n${i}`, "NAT", `n${i}`), [])
    assert.deepEqual(t.add("n3", "NAT", "n3"), ["n0"])
    assert.equal(t.heldBy("NAT"), 3)
    assert.equal(t.remove("n2"), "n2")
    assert.equal(t.remove("n2"), undefined)
    assert.deepEqual(t.add("n4", "NAT", "n4"), [])
})

test("an attacker holding most of the table never evicts a prompt device on another address", () => {
    const t = new AdmissionTable<string>({ capacity: 500, perAddress: 500 })
    let evictedDevices = 0
    let next = 0
    // 64 attacker addresses reopening forever; a device comes and goes
    for (let round = 0; round < 20_000; round++) {
        const addr = `10.0.0.${round % 64}`
        for (const v of t.add(`x${next}`, addr, `x${next++}`))
            if (v.startsWith("dev")) evictedDevices++
        if (round % 100 === 0)
            t.add(`dev${round}`, "192.168.1.1", `dev${round}`)
        if (round % 100 === 3) t.remove(`dev${round - 3}`) // proved its key
    }
    assert.equal(evictedDevices, 0)
    assert.equal(t.size, 500)
})

test("counts stay consistent through removals (the biggest holder is found again)", () => {
    const t = new AdmissionTable<number>({ capacity: 4, perAddress: 4 })
    t.add("a1", "A", 1)
    t.add("a2", "A", 2)
    t.add("a3", "A", 3)
    t.add("b1", "B", 4)
    t.remove("a1")
    t.remove("a2")
    t.add("b2", "B", 5)
    t.add("c1", "C", 6)
    // B holds 2, A 1, C 1: B's oldest goes
    assert.deepEqual(t.add("d1", "D", 7), [4])
    assert.deepEqual(t.clear().sort(), [3, 5, 6, 7])
    assert.equal(t.size, 0)
    assert.deepEqual(t.add("e1", "E", 8), [])
})

test("IPv6 peers count by /64, IPv4-mapped ones by their IPv4 address", () => {
    assert.equal(addressGroup("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64")
    assert.equal(addressGroup("2001:db8:1:2::9"), "2001:db8:1:2::/64")
    assert.equal(addressGroup("2001:db8::1"), "2001:db8:0:0::/64")
    assert.equal(addressGroup("::1"), "0:0:0:0::/64")
    assert.equal(addressGroup("::ffff:10.1.2.3"), "10.1.2.3")
    assert.equal(addressGroup("10.1.2.3"), "10.1.2.3")
})

test("the default cap is the memory budget over one connection's measured cost", () => {
    assert.equal(defaultMaxPending(false), 3640)
    assert.equal(defaultMaxPending(true), 1024)
    assert.throws(() => new AdmissionTable({ capacity: 0, perAddress: 1 }))
})
