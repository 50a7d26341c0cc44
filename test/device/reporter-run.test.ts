import { describe, test, expect } from "@devicescript/test"
import { INFORM, Rig, TOPIC } from "./reporter-rig"
import { httpResponse, platformAnswer } from "./scripted-transport"

// Reporter.run() itself, over the firmware's channel and HTTP client on a
// scripted transport, with a fake clock: what reaches the platform, when,
// and every wait the reporter asks for. (Refusals: reporter-refusals.)

const VERSION = '{"id":"1","version":"1.0","params":{"version":"v1"}}'

describe("Reporter.run on a scripted platform and a fake clock", () => {
    test("one reading per period, sent at once, oldest first, over one connection", async () => {
        const rig = new Rig({ periodMs: 1000 })
        await rig.runUntil(3500)
        expect(rig.sent()).toBe("1@0,2@1000,3@2000,4@3000")
        expect(rig.published.every(p => p.topic === TOPIC)).toBe(true)
        expect(rig.published[1].body).toBe('{"seq":2,"temperature":20}')
        expect(rig.timing.sleeps.join(",")).toBe("1000,1000,1000,1000")
        expect(rig.transport.connections.length).toBe(1)
    })
    test("backoff: after each failure a full-jitter wait, its ceiling doubling from 1 s; the reading is kept and sent", async () => {
        const rig = new Rig({ periodMs: 60000 })
        let n = 0
        rig.answer = p => {
            n++
            if (n === 1 || n === 3) return httpResponse(503, "<html>busy")
            if (n === 2 || n === 4) return platformAnswer(40000)
            return platformAnswer(0, '{"messageId":7}')
        }
        await rig.runUntil(60001)
        // jitter 0.5 of 1, 2, 4, 8 s; then the rest of the period, twice
        expect(rig.timing.sleeps.join(",")).toBe(
            "500,1000,2000,4000,52500,60000"
        )
        expect(rig.sent()).toBe("1@0,1@500,1@1500,1@3500,1@7500,2@60000")
        expect(rig.reporter.queue.size()).toBe(0)
    })
    test("a success resets the backoff: the next failure waits from 1 s again", async () => {
        const rig = new Rig({ periodMs: 10000 })
        rig.answer = p =>
            p.at === 0 || p.at === 500 || p.at === 10000
                ? platformAnswer(40000)
                : platformAnswer(0)
        await rig.runUntil(10501)
        // 0: fail (0.5 s), 500: fail (1 s), 1500: sent; 10000: fail (0.5 s again)
        expect(rig.sent()).toBe("1@0,1@500,1@1500,2@10000,2@10500")
        expect(rig.timing.sleeps.join(",")).toBe("500,1000,8500,500,9500")
    })
    test("the version report goes first, before the reading taken with it", async () => {
        const rig = new Rig({ periodMs: 1000 })
        rig.reporter.sendOnce("version", INFORM, VERSION)
        await rig.runUntil(1500)
        expect(rig.sent()).toBe("v@0,1@0,2@1000")
        expect(rig.published[0].topic).toBe(INFORM)
        expect(rig.published[0].body).toBe(VERSION)
    })
    test("a version report that failed waits behind the readings, then goes once", async () => {
        const rig = new Rig({ periodMs: 1000 })
        rig.reporter.sendOnce("version", INFORM, VERSION)
        rig.answer = p =>
            p.seq === 0 && p.at === 0
                ? httpResponse(503, "busy")
                : platformAnswer(0)
        await rig.runUntil(2500)
        expect(rig.sent()).toBe("v@0,1@500,v@500,2@1000,3@2000")
        expect(rig.timing.sleeps.join(",")).toBe("500,500,1000,1000")
    })
    test("a dead keep-alive connection: the reading is sent again at once on a new one, received once", async () => {
        const rig = new Rig({ periodMs: 1000 })
        rig.answer = p => {
            // the connection dies silently after this answer
            if (p.seq === 1) rig.transport.current().dropNext = true
            return platformAnswer(0)
        }
        await rig.runUntil(2500)
        expect(rig.sent()).toBe("1@0,2@1000,3@2000")
        expect(rig.published.map(p => p.connection).join(",")).toBe("1,2,2")
        expect(rig.transport.lost.length).toBe(1)
        expect(rig.transport.lost[0].body).toBe('{"seq":2,"temperature":20}')
        expect(rig.timing.sleeps.join(",")).toBe("1000,1000,1000")
    })
    test("FLEET_OTA (releaseWhenIdle): a backlog goes over one connection, then the socket is let go until the next reading", async () => {
        const rig = new Rig({ periodMs: 1000, releaseWhenIdle: true })
        rig.answer = p =>
            p.at < 2500 ? httpResponse(503, "busy") : platformAnswer(0)
        await rig.runUntil(5500)
        expect(rig.sent()).toBe(
            "1@0,1@500,1@1500,1@3500,2@3500,3@3500,4@3500,5@4000,6@5000"
        )
        // kept while anything was pending (failures included), let go after
        expect(rig.published.map(p => p.connection).join(",")).toBe(
            "1,1,1,1,1,1,1,2,3"
        )
        expect(rig.transport.current().closed).toBe(true)
        expect(rig.http.isConnected()).toBe(false)
    })
    test("an expired token (20001): authenticates again and resends at once", async () => {
        const rig = new Rig({ periodMs: 1000 })
        rig.answer = p =>
            rig.published.length === 1
                ? platformAnswer(20001)
                : platformAnswer(0)
        await rig.runUntil(500)
        expect(rig.sent()).toBe("1@0,1@0")
        const paths = rig.transport.paths().split(",")
        expect(paths[paths.length - 2]).toBe("/auth")
        expect(rig.timing.sleeps.join(",")).toBe("1000")
    })
})
