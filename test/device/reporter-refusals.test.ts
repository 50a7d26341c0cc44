import { describe, test, expect } from "@devicescript/test"
import { Rig, TOPIC } from "./reporter-rig"
import { httpResponse, platformAnswer } from "./scripted-transport"

// Reporter.run() on a scripted platform and a fake clock (see reporter-rig):
// a full queue while the link is down, refused readings, refused topics.

const BAD = "/pk/dn/user/get"

describe("Reporter.run: overflow and refusals", () => {
    test("link down: a full queue drops the oldest, the count goes out with the readings that follow", async () => {
        const rig = new Rig({ periodMs: 1000, bufferSize: 4 })
        rig.answer = p =>
            p.at < 6500 ? httpResponse(503, "down") : platformAnswer(0)
        await rig.runUntil(9500)
        // tries at 0, 0.5, 1.5, 3.5 s fail; at 7.5 s seq 1..4 are gone
        expect(rig.sent()).toBe(
            "1@0,1@500,1@1500,1@3500,5@7500,6@7500,7@7500,8@7500,9@8000,10@9000"
        )
        expect(rig.reporter.queue.dropped).toBe(4)
        expect(rig.published[4].body).toBe(
            '{"seq":5,"temperature":20,"dropped":4}'
        )
        expect(
            rig.published
                .slice(4)
                .every(p => p.body.indexOf('"dropped":4}') > 0)
        ).toBe(true)
        expect(rig.published[0].body).toBe('{"seq":1,"temperature":20}')
    })
    test("one refused reading is held, the next one probes: accepted, so the held one is dropped and never resent", async () => {
        const rig = new Rig({ periodMs: 1000 })
        rig.answer = p =>
            p.seq === 1 ? platformAnswer(10001) : platformAnswer(0)
        await rig.runUntil(2500)
        expect(rig.sent()).toBe("1@0,2@1000,3@2000")
        expect(rig.reporter.queue.size()).toBe(0)
        expect(rig.reporter.queue.dropped).toBe(0)
        expect(rig.reporter.topicRefused).toBe(false)
        expect(rig.timing.sleeps.join(",")).toBe("1000,1000,1000")
    })
    test("two readings refused in a row: the topic is; every reading kept (bounded), retried at the cap; a corrected TOPIC delivers in order", async () => {
        let rig: Rig = null
        // TOPIC corrected on the device at 5 s, read again before each try
        const reread = async () => (rig.timing.now >= 5000 ? TOPIC : BAD)
        rig = new Rig({
            topic: BAD,
            periodMs: 1000,
            bufferSize: 4,
            rereadTopic: reread,
        })
        rig.answer = p =>
            p.topic === BAD ? platformAnswer(10001) : platformAnswer(0)
        await rig.runUntil(12500)
        // 1 held at 0, 2 refused at 1 s: the next try is at 1 s + cap (10 s)
        expect(rig.sent(p => p.topic === BAD)).toBe("1@0,2@1000")
        expect(rig.sent(p => p.topic === TOPIC)).toBe(
            "9@11000,10@11000,11@11000,12@11000,13@12000"
        )
        expect(rig.reporter.queue.dropped).toBe(8)
        expect(rig.published[2].body).toBe(
            '{"seq":9,"temperature":20,"dropped":8}'
        )
        expect(rig.reporter.topic).toBe(TOPIC)
        expect(rig.reporter.topicRefused).toBe(false)
    })
    test("a TOPIC setting that cannot be read: the topic is kept and tried at the cap, the reporter goes on", async () => {
        let reads = 0
        const rig = new Rig({
            topic: BAD,
            periodMs: 1000,
            bufferSize: 4,
            rereadTopic: async () => {
                reads++
                throw new Error("settings: no answer reading TOPIC (3 tries)")
            },
        })
        rig.answer = p => platformAnswer(10001)
        await rig.runUntil(21500)
        expect(rig.sent()).toBe("1@0,2@1000,9@11000,10@11000,19@21000,20@21000")
        expect(reads > 0).toBe(true)
        expect(rig.reporter.topic).toBe(BAD)
        expect(rig.reporter.topicRefused).toBe(true)
    })
    test("while the topic stays refused: a try every cap (10 s), oldest first then the next, the queue bounded", async () => {
        const rig = new Rig({ topic: BAD, periodMs: 1000, bufferSize: 4 })
        rig.answer = p => platformAnswer(10001)
        await rig.runUntil(31500)
        // 1 held at 0, 2 refused at 1 s: the topic; then every 10 s, not a
        // growing backoff, the two oldest of the 4 kept
        expect(rig.sent()).toBe(
            "1@0,2@1000,9@11000,10@11000,19@21000,20@21000,29@31000,30@31000"
        )
        expect(rig.reporter.topicRefused).toBe(true)
        expect(rig.reporter.queue.size()).toBe(4)
        expect(rig.reporter.queue.dropped).toBe(28)
    })
})
