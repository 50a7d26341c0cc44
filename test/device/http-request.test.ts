import { describe, test, expect } from "@devicescript/test"
import { buildRequest, hostHeader } from "../../src/http/request"
import { failsWith } from "./expect-error"

describe("buildRequest", () => {
    test("auth request bytes", () => {
        const body = '{"version":"default","clientId":"pk.dev"}'
        const b = buildRequest({
            method: "POST",
            path: "/auth",
            host: "iot-as-http.cn-shanghai.aliyuncs.com",
            headers: { "Content-Type": "application/json" },
            body,
        })
        expect(b.toString("utf-8")).toBe(
            "POST /auth HTTP/1.1\r\nHost: iot-as-http.cn-shanghai.aliyuncs.com\r\nContent-Type: application/json\r\nContent-Length: 41\r\n\r\n" +
                body
        )
    })
    test("UTF-8 string body: Content-Length counts bytes", () => {
        const b = buildRequest({
            method: "POST",
            path: "/topic/a/b",
            host: "h",
            headers: { password: "tok" },
            body: "°C",
        })
        const head =
            "POST /topic/a/b HTTP/1.1\r\nHost: h\r\npassword: tok\r\nContent-Length: 3\r\n\r\n"
        expect(b.length).toBe(head.length + 3)
        expect(b.slice(head.length).toString("hex")).toBe("c2b043")
    })
    test("binary body with NUL bytes is sent byte-exact", () => {
        const body = hex`00ff0d0a0080`
        const b = buildRequest({ method: "POST", path: "/x", host: "h", body })
        const head = "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 6\r\n\r\n"
        expect(b.slice(0, head.length).toString("utf-8")).toBe(head)
        expect(b.slice(head.length).toString("hex")).toBe("00ff0d0a0080")
    })
    test("empty POST has Content-Length 0; GET has none", () => {
        expect(
            buildRequest({ method: "POST", path: "/", host: "h" }).toString(
                "utf-8"
            )
        ).toBe("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n")
        expect(
            buildRequest({ method: "GET", path: "/", host: "h" }).toString(
                "utf-8"
            )
        ).toBe("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    })
    test("refuses header injection and bad targets", () => {
        const ok = { method: "POST", path: "/a", host: "h" }
        failsWith(
            () =>
                buildRequest({
                    method: "POST",
                    path: "/a",
                    host: "h",
                    headers: { password: "t\r\nX-Evil: 1" },
                }),
            "invalid character in header password"
        )
        failsWith(
            () =>
                buildRequest({
                    method: "POST",
                    path: "/a",
                    host: "h",
                    headers: { "bad name": "v" },
                }),
            "header name"
        )
        failsWith(
            () => buildRequest({ method: "POST", path: "/a b", host: "h" }),
            "path"
        )
        failsWith(
            () => buildRequest({ method: "POST", path: "a", host: "h" }),
            "path must start"
        )
        failsWith(
            () => buildRequest({ method: "PO ST", path: "/", host: "h" }),
            "method"
        )
        failsWith(
            () =>
                buildRequest({
                    method: "POST",
                    path: "/",
                    host: "h",
                    headers: { "content-length": "5" },
                }),
            "set by buildRequest"
        )
        expect(buildRequest(ok).length > 0).toBe(true)
    })
})

describe("hostHeader", () => {
    test("omits default ports", () => {
        expect(hostHeader("a.com", 443, true)).toBe("a.com")
        expect(hostHeader("a.com", 8443, true)).toBe("a.com:8443")
        expect(hostHeader("127.0.0.1", 80, false)).toBe("127.0.0.1")
        expect(hostHeader("127.0.0.1", 443, false)).toBe("127.0.0.1:443")
    })
})
