import { describe, test, expect } from "@devicescript/test"
import {
    afterBatch,
    afterProbe,
    afterReading,
    batchSize,
    cleared,
    isHeld,
    noRefusal,
    RefusalState,
} from "../../src/refusals"

// The reporter's refusal rules alone: no channel, no queue, no clock.

function held(seq: number): RefusalState {
    return afterReading(noRefusal(), seq, "refused").state
}

function topicRefused(): RefusalState {
    return afterProbe(held(1), 1, "refused").state
}

describe("refusals: single readings", () => {
    test("an accepted or unsendable reading is taken; a retry waits and changes nothing", () => {
        for (const outcome of ["accepted", "invalid"]) {
            const d = afterReading(noRefusal(), 1, outcome as any)
            expect(d.action).toBe("taken")
            expect(d.shift).toBe(1)
            expect(d.droppedSeq).toBe(0)
        }
        const s = noRefusal()
        const d = afterReading(s, 1, "retry")
        expect(d.action).toBe("wait")
        expect(d.state).toBe(s)
        expect(d.shift).toBe(0)
    })
    test("one refusal holds the reading; the next one probes", () => {
        const d = afterReading(noRefusal(), 7, "refused")
        expect(d.action).toBe("hold")
        expect(d.shift).toBe(0)
        expect(d.state.heldSeq).toBe(7)
        expect(d.state.topicRefused).toBe(false)
        expect(isHeld(d.state, 7)).toBe(true)
        expect(isHeld(d.state, 8)).toBe(false)
        expect(isHeld(noRefusal(), 7)).toBe(false)
    })
    test("a second, different reading refused: the topic is refused, once", () => {
        const d = afterProbe(held(7), 7, "refused")
        expect(d.action).toBe("refuseTopic")
        expect(d.shift).toBe(0)
        expect(d.state.topicRefused).toBe(true)
        // a refused topic holds nothing: the oldest is tried first again
        expect(isHeld(d.state, 7)).toBe(false)
        // refused again: no second announcement, still waiting
        const again = afterProbe(d.state, 7, "refused")
        expect(again.action).toBe("wait")
        expect(again.state.topicRefused).toBe(true)
        // the oldest refused while the topic is: the next one probes
        expect(afterReading(d.state, 7, "refused").action).toBe("probe")
    })
    test("the held reading is dropped when the next one is accepted (or cannot be sent)", () => {
        for (const outcome of ["accepted", "invalid"]) {
            const d = afterProbe(held(7), 7, outcome as any)
            expect(d.action).toBe("taken")
            expect(d.shift).toBe(2)
            expect(d.droppedSeq).toBe(7)
            expect(d.state.heldSeq).toBe(0)
            expect(d.state.topicRefused).toBe(false)
        }
        const r = afterProbe(held(7), 7, "retry")
        expect(r.action).toBe("wait")
        expect(r.state.heldSeq).toBe(7)
    })
    test("a refused topic ends when a reading is accepted", () => {
        const d = afterProbe(topicRefused(), 1, "accepted")
        expect(d.action).toBe("taken")
        expect(d.state.topicRefused).toBe(false)
        const one = afterReading(topicRefused(), 1, "accepted")
        expect(one.action).toBe("taken")
        expect(one.shift).toBe(1)
        expect(one.state.topicRefused).toBe(false)
    })
    test("a topic correction clears the held reading and the refused topic", () => {
        const s = cleared(topicRefused())
        expect(s.topicRefused).toBe(false)
        expect(s.heldSeq).toBe(0)
        const h = cleared(held(7))
        expect(isHeld(h, 7)).toBe(false)
    })
})

describe("refusals: batches", () => {
    test("a refused batch goes again in halves, down to 1, none dropped", () => {
        let s = noRefusal()
        let count = 10
        const sizes: number[] = []
        while (count > 1) {
            const d = afterBatch(s, "refused", false, count, count)
            expect(d.action).toBe("split")
            expect(d.shift).toBe(0)
            s = d.state
            count = batchSize(s, 10, 1, 10)
            sizes.push(count)
        }
        expect(sizes.join(",")).toBe("5,3,2,1")
        expect(s.splitUntil).toBe(10)
        // an unbuildable batch splits the same way
        expect(afterBatch(noRefusal(), "invalid", false, 4, 4).action).toBe(
            "split"
        )
    })
    test("the split limit applies only up to the split's last seq", () => {
        const s = afterBatch(noRefusal(), "refused", false, 18, 8).state
        expect(s.splitUntil).toBe(18)
        expect(s.splitLimit).toBe(4)
        expect(batchSize(s, 10, 11, 20)).toBe(4)
        expect(batchSize(s, 10, 18, 20)).toBe(4)
        expect(batchSize(s, 10, 19, 20)).toBe(10)
        expect(batchSize(s, 10, 19, 3)).toBe(3)
        // a smaller later split does not shorten the range of the first
        const t = afterBatch(s, "refused", false, 14, 4).state
        expect(t.splitUntil).toBe(18)
        expect(t.splitLimit).toBe(2)
    })
    test("a split covers a batch whose seqs jump (readings lost at a restart)", () => {
        // seq 11..14 and 17..20: 8 readings through seq 20
        const s = afterBatch(noRefusal(), "refused", false, 20, 8).state
        expect(s.splitUntil).toBe(20)
        expect(batchSize(s, 10, 17, 20)).toBe(4)
        expect(batchSize(s, 10, 21, 20)).toBe(10)
    })
    test("batch size: 1 without batches or while the topic is refused", () => {
        expect(batchSize(noRefusal(), 1, 1, 10)).toBe(1)
        expect(batchSize(noRefusal(), undefined, 1, 10)).toBe(1)
        expect(batchSize(topicRefused(), 10, 1, 10)).toBe(1)
        expect(batchSize(noRefusal(), 10, 1, 6)).toBe(6)
    })
    test("an accepted batch leaves the queue; behind a held reading, that one is dropped too", () => {
        const plain = afterBatch(noRefusal(), "accepted", false, 5, 5)
        expect(plain.action).toBe("taken")
        expect(plain.shift).toBe(5)
        expect(plain.droppedSeq).toBe(0)
        const behind = afterBatch(held(3), "accepted", true, 8, 5)
        expect(behind.action).toBe("taken")
        expect(behind.shift).toBe(6)
        expect(behind.droppedSeq).toBe(3)
        expect(behind.state.heldSeq).toBe(0)
    })
    test("a retried batch waits; a batch with no reading in it leaves the decision to the single rules", () => {
        const s = held(3)
        const r = afterBatch(s, "retry", true, 8, 5)
        expect(r.action).toBe("wait")
        expect(r.state).toBe(s)
        const none = afterBatch(s, "refused", true, 3, 0)
        expect(none.action).toBe("single")
        expect(none.state).toBe(s)
    })
})
