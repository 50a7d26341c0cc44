/** The bench's count of deploys at once (host/bench/at-once.ts). */
import { test } from "node:test"
import assert from "node:assert/strict"
import { atOnce } from "../../host/bench/at-once.ts"

test("atOnce: the most intervals open at one instant, and the mean over a span", () => {
    assert.deepEqual(atOnce([], 10), { most: 0, mean: 0 })
    // [0,10) [5,15) [8,9): three open at 8
    assert.deepEqual(
        atOnce(
            [
                [0, 10],
                [5, 15],
                [8, 9],
            ],
            21
        ),
        { most: 3, mean: 1 }
    )
    // one ends as the next starts: never two at once
    assert.equal(
        atOnce(
            [
                [0, 5],
                [5, 10],
            ],
            10
        ).most,
        1
    )
})
