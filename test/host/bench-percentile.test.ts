/** The bench's nearest-rank percentile (host/bench/percentile.ts). */
import { test } from "node:test"
import assert from "node:assert/strict"
import { percentile } from "../../host/bench/percentile.ts"

test("nearest rank: p50 and p99 of 1..100, unsorted input", () => {
    const v = Array.from({ length: 100 }, (_, i) => 100 - i)
    assert.equal(percentile(v, 50), 50)
    assert.equal(percentile(v, 99), 99)
    assert.equal(percentile(v, 100), 100)
    assert.equal(percentile(v, 0), 1)
})

test("one value is every percentile; none is NaN", () => {
    assert.equal(percentile([7], 1), 7)
    assert.equal(percentile([7], 99), 7)
    assert.ok(Number.isNaN(percentile([], 50)))
})

test("p99 of 10 values is the largest", () => {
    assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 99), 10)
})
