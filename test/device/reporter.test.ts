import { describe, test, expect } from "@devicescript/test"
import {
    backoffCap,
    ReadingChannel,
    readingBody,
    Reporter,
} from "../../src/reporter"
import { WallClock } from "../../src/time"
import { deviceTiming } from "../../src/timing"
import { paramError } from "./reporter-rig"

describe("readingBody", () => {
    test("json: ts, seq, values in order", () => {
        expect(
            readingBody(
                "json",
                { temperature: 21.5, humidity: 40 },
                1795660000123,
                7,
                0
            )
        ).toBe('{"ts":1795660000123,"seq":7,"temperature":21.5,"humidity":40}')
    })
    test("json: no ts before the clock is known", () => {
        expect(readingBody("json", { temperature: 20 }, NaN, 1, 0)).toBe(
            '{"seq":1,"temperature":20}'
        )
    })
    test("json: the drop count once readings were dropped", () => {
        expect(readingBody("json", { humidity: 55 }, NaN, 12, 3)).toBe(
            '{"seq":12,"humidity":55,"dropped":3}'
        )
    })
    test("json: a reading without values still says which one it is", () => {
        expect(readingBody("json", {}, NaN, 2, 0)).toBe('{"seq":2}')
    })
    test("alink: seq is the message id, values carry the time", () => {
        expect(
            readingBody("alink", { temperature: 21.5 }, 1795660000123, 9, 0)
        ).toBe(
            '{"id":"9","version":"1.0","params":{"temperature":{"value":21.5,"time":1795660000123}},"method":"thing.event.property.post"}'
        )
    })
})

describe("backoffCap", () => {
    test("four periods, between 10 s and 5 min", () => {
        expect(backoffCap(1000)).toBe(10000)
        expect(backoffCap(5000)).toBe(20000)
        expect(backoffCap(60000)).toBe(240000)
        expect(backoffCap(3600000)).toBe(300000)
    })
})

/** A channel that refuses (10001) a topic or given readings, and records what it was sent. */
class ScriptedChannel implements ReadingChannel {
    sent: string[] = []
    badTopic = ""
    badSeqs: number[] = []
    async ensureToken() {}
    async publish(topic: string, body: string): Promise<string> {
        const seq = JSON.parse(body).seq as number
        this.sent.push(`${topic} ${seq}`)
        if (topic === this.badTopic || this.badSeqs.indexOf(seq) >= 0)
            throw paramError()
        return "1"
    }
    async idle() {}
}

function reporterOn(channel: ScriptedChannel, reread?: () => Promise<string>) {
    return new Reporter(
        {
            topic: "/pk/dn/user/nope",
            format: "json",
            periodMs: 1000,
            bufferSize: 4,
            rereadTopic: reread,
        },
        channel,
        new WallClock(),
        async () => ({ temperature: 20 }),
        deviceTiming
    )
}

describe("Reporter: refused readings and refused topics", () => {
    test("a refused topic keeps every reading; a corrected TOPIC delivers them in order", async () => {
        const ch = new ScriptedChannel()
        ch.badTopic = "/pk/dn/user/nope"
        let setting = "/pk/dn/user/nope"
        const rep = reporterOn(ch, async () => setting)
        for (let i = 0; i < 3; i++) await rep.takeReading()
        expect(await rep.sendOldest()).toBe(true) // seq 1 refused: held
        expect(rep.topicRefused).toBe(false)
        expect(await rep.sendOldest()).toBe(false) // seq 2 refused too: the topic
        expect(rep.topicRefused).toBe(true)
        expect(rep.queue.size()).toBe(3)
        expect(await rep.sendOldest()).toBe(false) // still refused, nothing dropped
        expect(rep.queue.size()).toBe(3)
        setting = "/pk/dn/user/update"
        while (rep.queue.size() > 0) expect(await rep.sendOldest()).toBe(true)
        expect(rep.topic).toBe("/pk/dn/user/update")
        expect(rep.topicRefused).toBe(false)
        const delivered = ch.sent.filter(s =>
            s.startsWith("/pk/dn/user/update")
        )
        expect(delivered.join(",")).toBe(
            "/pk/dn/user/update 1,/pk/dn/user/update 2,/pk/dn/user/update 3"
        )
        expect(rep.queue.dropped).toBe(0)
    })
    test("one bad reading is dropped once the next is accepted; the queue moves on", async () => {
        const ch = new ScriptedChannel()
        ch.badSeqs = [1]
        const rep = reporterOn(ch)
        for (let i = 0; i < 3; i++) await rep.takeReading()
        expect(await rep.sendOldest()).toBe(true) // 1 held
        expect(await rep.sendOldest()).toBe(true) // 2 accepted, so 1 dropped
        expect(rep.queue.size()).toBe(1)
        expect(await rep.sendOldest()).toBe(true)
        expect(ch.sent.join(",")).toBe(
            "/pk/dn/user/nope 1,/pk/dn/user/nope 2,/pk/dn/user/nope 3"
        )
        expect(rep.topicRefused).toBe(false)
    })
    test("a held reading waits for the next one instead of being sent again", async () => {
        const ch = new ScriptedChannel()
        ch.badSeqs = [1]
        const rep = reporterOn(ch)
        await rep.takeReading()
        expect(await rep.sendOldest()).toBe(true)
        expect(await rep.sendOldest()).toBe(false)
        expect(ch.sent.length).toBe(1)
        await rep.takeReading()
        expect(await rep.sendOldest()).toBe(true)
        expect(ch.sent.join(",")).toBe("/pk/dn/user/nope 1,/pk/dn/user/nope 2")
        expect(rep.queue.size()).toBe(0)
    })
    test("while the topic is refused, the oldest goes first: a platform-side fix loses nothing", async () => {
        const ch = new ScriptedChannel()
        ch.badTopic = "/pk/dn/user/nope"
        const rep = reporterOn(ch) // no setting to read again
        for (let i = 0; i < 2; i++) await rep.takeReading()
        await rep.sendOldest()
        await rep.sendOldest()
        expect(rep.topicRefused).toBe(true)
        ch.badTopic = "" // the topic's permission is granted on the platform
        ch.sent = []
        expect(await rep.sendOldest()).toBe(true)
        expect(await rep.sendOldest()).toBe(true)
        expect(ch.sent.join(",")).toBe("/pk/dn/user/nope 1,/pk/dn/user/nope 2")
    })
    test("while refused, a full queue drops the oldest and counts it", async () => {
        const ch = new ScriptedChannel()
        ch.badTopic = "/pk/dn/user/nope"
        const rep = reporterOn(ch)
        for (let i = 0; i < 2; i++) await rep.takeReading()
        await rep.sendOldest()
        await rep.sendOldest()
        for (let i = 0; i < 4; i++) await rep.takeReading()
        expect(rep.queue.size()).toBe(4)
        expect(rep.queue.dropped).toBe(2)
        expect(rep.queue.peek().seq).toBe(3)
    })
})
