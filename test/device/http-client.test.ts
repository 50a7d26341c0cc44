import { describe, test, expect } from "@devicescript/test"
import { asHttpError, HttpClient } from "../../src/http/client"
import { HttpError } from "../../src/http/response"
import { netTransport } from "../../src/http/transport"

// The VM test mode has no sockets: only the failure paths can run here.
// The exchange itself is covered end to end by the TLS harness.
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
