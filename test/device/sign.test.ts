import { describe, test, expect } from "@devicescript/test"
import {
    AuthParams,
    contentToSign,
    signAuthParams,
    SignMethod,
} from "../../src/channel/sign"

const example: AuthParams = {
    productKey: "pk",
    deviceName: "device",
    clientId: "12345",
    timestamp: "789",
}

async function errorOf(params: AuthParams, method: string) {
    try {
        await signAuthParams(params, "secret", method as SignMethod)
    } catch (e: any) {
        return e.message as string
    }
    return "no error"
}

describe("content to sign", () => {
    test("the spec's example, whatever the order of the fields", () => {
        expect(contentToSign(example)).toBe(
            "clientId12345deviceNamedeviceproductKeypktimestamp789"
        )
        const shuffled: any = {
            timestamp: "789",
            clientId: "12345",
            productKey: "pk",
            deviceName: "device",
        }
        expect(contentToSign(shuffled)).toBe(
            "clientId12345deviceNamedeviceproductKeypktimestamp789"
        )
    })
    test("version, sign and signmethod are left out", () => {
        const withExtras: any = {
            productKey: "pk",
            deviceName: "device",
            clientId: "12345",
            version: "default",
            sign: "abc",
            signmethod: "hmacsha1",
        }
        expect(contentToSign(withExtras)).toBe(
            "clientId12345deviceNamedeviceproductKeypk"
        )
    })
    test("an absent timestamp is left out", () => {
        expect(
            contentToSign({
                productKey: "pk",
                deviceName: "device",
                clientId: "12345",
            })
        ).toBe("clientId12345deviceNamedeviceproductKeypk")
    })
})

describe("signature", () => {
    test("hmacsha1 of the spec's example", async () => {
        expect(await signAuthParams(example, "secret", "hmacsha1")).toBe(
            "fafd82a3d602b37fb0fa8b7892f24a477f851a14"
        )
    })
    test("hmacmd5 of the spec's example", async () => {
        expect(await signAuthParams(example, "secret", "hmacmd5")).toBe(
            "14b198324fe55e1d3c88f2e705e201ee"
        )
    })
    test("hmacsha256 of the spec's example (Node's crypto)", async () => {
        expect(await signAuthParams(example, "secret", "hmacsha256")).toBe(
            "6074a46a91b1ebb2cc4ea42790ad0e80202c9843859fc292e57c4eb19fad9e57"
        )
    })
})

describe("bad parameters get a clear error", () => {
    test("missing productKey", async () => {
        const p: any = { deviceName: "d", clientId: "c" }
        expect(await errorOf(p, "hmacsha1")).toBe(
            "auth parameter productKey is missing"
        )
    })
    test("missing deviceName", async () => {
        const p: any = { productKey: "p", clientId: "c" }
        expect(await errorOf(p, "hmacsha1")).toBe(
            "auth parameter deviceName is missing"
        )
    })
    test("empty clientId", async () => {
        const p: any = { productKey: "p", deviceName: "d", clientId: "" }
        expect(await errorOf(p, "hmacsha1")).toBe(
            "auth parameter clientId is missing"
        )
    })
    test("clientId of 64 characters is accepted, 65 refused", async () => {
        let id = ""
        for (let i = 0; i < 64; ++i) id += "x"
        const p: AuthParams = { productKey: "p", deviceName: "d", clientId: id }
        expect(await errorOf(p, "hmacsha1")).toBe("no error")
        p.clientId = id + "y"
        expect(await errorOf(p, "hmacsha1")).toBe(
            "auth parameter clientId is 65 characters; at most 64 are allowed"
        )
    })
    test("unknown sign method", async () => {
        expect(await errorOf(example, "hmacsha512")).toBe(
            'unknown sign method "hmacsha512": use hmacmd5, hmacsha1 or hmacsha256'
        )
    })
    test("timestamp that is not digits", async () => {
        const p: AuthParams = {
            productKey: "p",
            deviceName: "d",
            clientId: "c",
            timestamp: "12:00",
        }
        expect(await errorOf(p, "hmacmd5")).toBe(
            "auth parameter timestamp must be decimal digits"
        )
    })
})
