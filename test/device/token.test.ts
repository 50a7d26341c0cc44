import { describe, test, expect } from "@devicescript/test"
import {
    base64UrlText,
    renewalTime,
    tokenExpiry,
    tokenProblem,
} from "../../src/channel/token"

const JWT =
    "eyJ0eXBlIjoiSldUIiwiYWxnIjoiaG1hY3NoYTEifQ.eyJleHBpcmUiOjE1MDI1MzE1MDc0NzcsInRva2VuIjoiODA0ZmFjYTBiZTE3NGUxNjliZjY0ODVlNWNiNDg3MTkifQ.OjMwu29F0CY2YR_6oOyiOLXz0c8"

describe("tokens", () => {
    test("visible ASCII without space, 1..512 characters", () => {
        expect(tokenProblem(JWT)).toBe(null)
        let t = ""
        while (t.length < 512) t += "~"
        expect(tokenProblem(t)).toBe(null)
        expect(tokenProblem(t + "~")).toBe("token length 513 not in 1..512")
        expect(tokenProblem("")).toBe("token length 0 not in 1..512")
        expect(tokenProblem("a b")).toBe(
            "token has characters other than visible ASCII"
        )
        expect(tokenProblem("a\tb")).toBe(
            "token has characters other than visible ASCII"
        )
        expect(tokenProblem("a\u00e9")).toBe(
            "token has characters other than visible ASCII"
        )
    })
    test("base64url as in JWTs", () => {
        expect(
            base64UrlText("eyJ0eXBlIjoiSldUIiwiYWxnIjoiaG1hY3NoYTEifQ")
        ).toBe('{"type":"JWT","alg":"hmacsha1"}')
        // RFC 4648 section 10 vectors, unpadded and padded
        expect(base64UrlText("Zm9vYmFy")).toBe("foobar")
        expect(base64UrlText("Zm9vYg")).toBe("foob")
        expect(base64UrlText("Zm9vYg==")).toBe("foob")
        expect(base64UrlText("Zg")).toBe("f")
        expect(base64UrlText("")).toBe("")
        expect(base64UrlText("Zm9v*")).toBe(null)
    })
    test("the expiry a JWT-form token states", () => {
        // the platform's documented example
        expect(tokenExpiry(JWT)).toBe(1502531507477)
        // 32 hex digits: no stated expiry
        expect(isNaN(tokenExpiry("6944e5bfb92e4d4ea3918d1eda3942f6"))).toBe(
            true
        )
        // payloads: {"token":"x","expire":1795660000123} and {"expire": 1795660000}
        // (seconds), {"x":"\"expire\":5"} (a look-alike in a string), and two dots only
        expect(
            tokenExpiry("a.eyJ0b2tlbiI6IngiLCJleHBpcmUiOjE3OTU2NjAwMDAxMjN9.s")
        ).toBe(1795660000123)
        expect(tokenExpiry("a.eyJleHBpcmUiOiAxNzk1NjYwMDAwfQ.s")).toBe(
            1795660000000
        )
        expect(isNaN(tokenExpiry("a.eyJ4IjoiXCJleHBpcmVcIjo1In0.s"))).toBe(true)
        expect(isNaN(tokenExpiry("a.b.c.d"))).toBe(true)
        expect(isNaN(tokenExpiry(".."))).toBe(true)
        expect(isNaN(tokenExpiry("a.!!!.c"))).toBe(true)
    })
    test("renewal at 90 % of the life left when the token arrived", () => {
        expect(renewalTime(1000000, 1100000)).toBe(1090000)
        // 48 h: renewed after 43.2 h
        expect(renewalTime(1795660000000, 1795660000000 + 172800000)).toBe(
            1795660000000 + 155520000
        )
        // unknown issue time, unknown expiry, or already expired: none
        expect(isNaN(renewalTime(NaN, 1100000))).toBe(true)
        expect(isNaN(renewalTime(1000000, NaN))).toBe(true)
        expect(isNaN(renewalTime(1100000, 1000000))).toBe(true)
    })
})
