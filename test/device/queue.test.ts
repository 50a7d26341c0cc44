import { describe, test, expect } from "@devicescript/test"
import { BoundedQueue } from "../../src/queue"

describe("BoundedQueue", () => {
    test("FIFO order", () => {
        const q = new BoundedQueue<number>(3)
        q.push(1)
        q.push(2)
        expect(q.size()).toBe(2)
        expect(q.peek()).toBe(1)
        expect(q.shift()).toBe(1)
        expect(q.shift()).toBe(2)
        expect(q.shift()).toBe(undefined)
        expect(q.peek()).toBe(undefined)
        expect(q.size()).toBe(0)
    })
    test("drops and counts the oldest when full", () => {
        const q = new BoundedQueue<number>(3)
        for (let i = 1; i <= 3; i++) expect(q.push(i)).toBe(undefined)
        expect(q.push(4)).toBe(1)
        expect(q.push(5)).toBe(2)
        expect(q.dropped).toBe(2)
        expect(q.size()).toBe(3)
        expect(q.shift()).toBe(3)
        expect(q.shift()).toBe(4)
        expect(q.shift()).toBe(5)
        expect(q.dropped).toBe(2)
    })
    test("matches a reference model over many wraps", () => {
        const q = new BoundedQueue<number>(4)
        const model: number[] = []
        let modelDropped = 0
        let next = 0
        // pattern of pushes (1) and shifts (0): net growth, then drains
        const ops = [
            1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1,
        ]
        for (let round = 0; round < 20; round++) {
            for (const op of ops) {
                if (op) {
                    q.push(next)
                    model.push(next)
                    next++
                    if (model.length > 4) {
                        model.shift()
                        modelDropped++
                    }
                } else {
                    expect(q.shift()).toBe(model.shift())
                }
                expect(q.size()).toBe(model.length)
            }
        }
        expect(q.dropped).toBe(modelDropped)
        expect(modelDropped > 50).toBe(true)
    })
    test("clear keeps drop count; bad capacity throws", () => {
        const q = new BoundedQueue<string>(1)
        q.push("a")
        q.push("b")
        q.clear()
        expect(q.size()).toBe(0)
        expect(q.dropped).toBe(1)
        q.push("c")
        expect(q.shift()).toBe("c")
        expect(() => new BoundedQueue<number>(0)).toThrow()
        expect(() => new BoundedQueue<number>(2.5)).toThrow()
    })
})
