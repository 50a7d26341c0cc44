import { describe, test, expect } from "@devicescript/test"
import { asHttpError, HttpClient } from "../../src/http/client"
import { HttpError } from "../../src/http/response"
import { netTransport } from "../../src/http/transport"
import { httpResponse, ScriptedTransport } from "./scripted-transport"

// The VM test mode has no sockets: only the failure paths can run here
// on the device's transport; the exchange runs on a scripted one below
// (and end to end over TLS in the e2e tests).
describe("HttpClient without a network", () => {
    test("a failed connect is an HttpError and counts no connection", async () => {
        const c = new HttpClient(netTransport, {
            host: "127.0.0.1",
            port: 1,
            connectTimeoutMs: 2000,
        })
        let err: HttpError = null
        try {
            await c.request({ method: "POST", path: "/auth", body: "{}" })
        } catch (e) {
            err = e as HttpError
        }
        expect(err instanceof HttpError).toBe(true)
        expect(err.kind === "network" || err.kind === "timeout").toBe(true)
        expect(err.message.indexOf("connect to 127.0.0.1:1 failed")).toBe(6)
        expect(c.connections).toBe(0)
        expect(c.isConnected()).toBe(false)
    })
    test("a malformed request fails before any connection", async () => {
        const c = new HttpClient(netTransport, { host: "h", port: 443 })
        let err: Error = null
        try {
            await c.request({
                method: "POST",
                path: "/x",
                headers: { password: "a\r\nb" },
            })
        } catch (e) {
            err = e as Error
        }
        expect(
            err !== null && err.message.indexOf("header password") >= 0
        ).toBe(true)
        expect(c.connections).toBe(0)
    })
    test("asHttpError", () => {
        const e = asHttpError(new Error("socket tls://h:443: send error -2"))
        expect(e.kind).toBe("network")
        expect(e.message).toBe("http: socket tls://h:443: send error -2")
        const h = new HttpError("timeout", "x")
        expect(asHttpError(h)).toBe(h)
    })
})

/** A client on a scripted transport, as the firmware configures it. */
function scripted(t: ScriptedTransport) {
    return new HttpClient(t, { host: "h", port: 443 })
}

const POST = { method: "POST", path: "/topic/a", body: "x" }

/** The error a request fails with, or null. */
async function failure(c: HttpClient): Promise<HttpError> {
    try {
        await c.request(POST)
    } catch (e) {
        return e as HttpError
    }
    return null
}

describe("HttpClient over a scripted transport", () => {
    test("keep-alive: three requests, one connection, each answer its own", async () => {
        const t = new ScriptedTransport()
        let n = 0
        t.respond = req => httpResponse(200, `${req.path}#${++n}`)
        const c = scripted(t)
        for (let i = 1; i <= 3; i++) {
            const res = await c.request({ method: "POST", path: `/p${i}` })
            expect(res.status).toBe(200)
            expect(res.body.toString()).toBe(`/p${i}#${i}`)
        }
        expect(t.connections.length).toBe(1)
        expect(c.connections).toBe(1)
        expect(t.requests.map(r => r.connection).join(",")).toBe("1,1,1")
        expect(c.isConnected()).toBe(true)
    })
    test("sends the body byte-exact with Host and Content-Length", async () => {
        const t = new ScriptedTransport()
        await new HttpClient(t, { host: "h", port: 8443 }).request({
            method: "POST",
            path: "/auth",
            headers: { "Content-Type": "application/json" },
            body: "{}",
        })
        const r = t.requests[0]
        expect(r.head).toBe(
            "POST /auth HTTP/1.1\r\nHost: h:8443\r\nContent-Type: application/json\r\nContent-Length: 2"
        )
        expect(r.body).toBe("{}")
    })
    test("the server closed the idle connection: the next request goes on a new one, once", async () => {
        const t = new ScriptedTransport()
        const c = scripted(t)
        await c.request(POST)
        t.closeIdle()
        expect((await c.request(POST)).status).toBe(200)
        expect(t.requests.map(r => r.connection).join(",")).toBe("1,2")
        expect(t.lost.length).toBe(0)
        expect(t.connections[0].closed).toBe(true)
        expect(c.connections).toBe(2)
    })
    test("a reused connection that dies without an answer: the request is sent again, once, on a new one", async () => {
        const t = new ScriptedTransport()
        const c = scripted(t)
        await c.request(POST)
        t.current().dropNext = true // looks alive, dies on the request
        expect((await c.request(POST)).status).toBe(200)
        expect(t.lost.map(r => r.connection).join(",")).toBe("1")
        expect(t.requests.map(r => r.connection).join(",")).toBe("1,2")
    })
    test("...and when the new connection dies too, the error is the caller's: no third try", async () => {
        const t = new ScriptedTransport()
        const c = scripted(t)
        await c.request(POST)
        t.current().dropNext = true
        t.respond = req => null
        const err = await failure(c)
        expect(err instanceof HttpError).toBe(true)
        expect(err.kind === "closed" || err.kind === "network").toBe(true)
        expect(t.lost.length).toBe(2)
        expect(t.connections.length).toBe(2)
        expect(c.isConnected()).toBe(false)
    })
    test("a new connection that dies is not resent (it was not a stale one)", async () => {
        const t = new ScriptedTransport()
        t.respond = req => null
        const c = scripted(t)
        expect((await failure(c)) instanceof HttpError).toBe(true)
        expect(t.lost.length).toBe(1)
        expect(t.connections.length).toBe(1)
    })
    test("no answer in time: a timeout, the connection closed, the next request on a new one", async () => {
        const t = new ScriptedTransport()
        t.respond = req => ""
        const c = scripted(t)
        expect((await failure(c)).kind).toBe("timeout")
        expect(t.current().closed).toBe(true)
        t.respond = req => httpResponse(200, "ok")
        expect((await c.request(POST)).status).toBe(200)
        expect(t.connections.length).toBe(2)
    })
    test("Connection: close is honoured: the next request opens a new connection", async () => {
        const t = new ScriptedTransport()
        t.respond = req => httpResponse(200, "bye", "Connection: close\r\n")
        const c = scripted(t)
        await c.request(POST)
        expect(c.isConnected()).toBe(false)
        expect(t.current().closed).toBe(true)
        await c.request(POST)
        expect(t.connections.length).toBe(2)
    })
    test("a refused connect is an HttpError naming host and port", async () => {
        const t = new ScriptedTransport()
        t.refuseConnects = 1
        const c = scripted(t)
        const err = await failure(c)
        expect(err.kind).toBe("network")
        expect(err.message.indexOf("connect to h:443 failed")).toBe(6)
        expect(c.connections).toBe(0)
        expect((await c.request(POST)).status).toBe(200)
    })
})

describe("HttpClient: releasing the socket when idle (fleet OTA)", () => {
    test("releaseWhenIdle: idle() closes the connection; the next request opens one", async () => {
        const t = new ScriptedTransport()
        const c = new HttpClient(t, {
            host: "h",
            port: 443,
            releaseWhenIdle: true,
        })
        await c.request(POST)
        await c.request(POST) // not idle in between: kept alive
        expect(t.connections.length).toBe(1)
        await c.idle()
        expect(c.isConnected()).toBe(false)
        expect(t.current().closed).toBe(true)
        await c.request(POST)
        expect(t.connections.length).toBe(2)
    })
    test("without it, idle() keeps the connection alive", async () => {
        const t = new ScriptedTransport()
        const c = scripted(t)
        await c.request(POST)
        await c.idle()
        expect(c.isConnected()).toBe(true)
        await c.request(POST)
        expect(t.connections.length).toBe(1)
    })
    test("beforeConnect is awaited before each new connection only", async () => {
        const t = new ScriptedTransport()
        let waits = 0
        const c = new HttpClient(t, {
            host: "h",
            port: 443,
            releaseWhenIdle: true,
            beforeConnect: async () => {
                waits++
            },
        })
        await c.request(POST)
        await c.request(POST)
        expect(waits).toBe(1)
        await c.idle()
        await c.request(POST)
        expect(waits).toBe(2)
    })
})
