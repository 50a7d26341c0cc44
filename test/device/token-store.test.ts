import { describe, test, expect } from "@devicescript/test"
import { readSetting, writeSetting } from "@devicescript/settings"
import {
    MAX_TOKEN_PARTS,
    splitToken,
    TOKEN_KEY,
    tokenPartKey,
    TokenStore,
} from "../../src/channel/token-store"
import { settingProblem } from "../../src/config"
import { rejects } from "./expect-error"

const JWT =
    "eyJ0eXBlIjoiSldUIiwiYWxnIjoiaG1hY3NoYTEifQ.eyJleHBpcmUiOjE1MDI1MzE1MDc0NzcsInRva2VuIjoiODA0ZmFjYTBiZTE3NGUxNjliZjY0ODVlNWNiNDg3MTkifQ.OjMwu29F0CY2YR_6oOyiOLXz0c8"

/** A token of `n` visible ASCII characters, varied so that parts differ. */
function tokenOf(n: number, alphabet: string): string {
    let t = ""
    for (let i = 0; i < n; i++) t += alphabet[(i * 7 + n) % alphabet.length]
    return t
}

describe("TokenStore", () => {
    test("a saved token is found by a new store of the same identity (a reboot)", async () => {
        await new TokenStore("pk/dn@host").save(
            "6944e5bfb92e4d4ea3918d1eda3942f6",
            1795660000000
        )
        const t = await new TokenStore("pk/dn@host").load()
        expect(t.token).toBe("6944e5bfb92e4d4ea3918d1eda3942f6")
        expect(t.issuedAt).toBe(1795660000000)
    })
    test("tokens of 32, 161, 300 and 512 characters are kept and reused", async () => {
        const alphabet =
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~"
        for (const t of [
            tokenOf(32, alphabet),
            JWT,
            tokenOf(300, alphabet),
            tokenOf(512, alphabet),
        ]) {
            await new TokenStore("pk/dn@host").save(t, NaN)
            const back = await new TokenStore("pk/dn@host").load()
            expect(back.token).toBe(t)
            expect(isNaN(back.issuedAt)).toBe(true)
        }
    })
    test("quotes and backslashes (escaped in JSON) still fit each setting", async () => {
        const t = tokenOf(512, '\\"')
        const parts = splitToken(t, 2147483646)
        expect(parts.length <= MAX_TOKEN_PARTS).toBe(true)
        expect(parts.join("")).toBe(t)
        for (let i = 0; i < parts.length; i++)
            expect(
                settingProblem(tokenPartKey(i), "2147483646:" + parts[i])
            ).toBe(null)
        await new TokenStore("pk/dn@host").save(t, NaN)
        expect((await new TokenStore("pk/dn@host").load()).token).toBe(t)
    })
    test("a 513-character token is refused and nothing is written", async () => {
        const store = new TokenStore("pk/dn@host")
        await store.save(JWT, NaN)
        await rejects(
            async () => await store.save(tokenOf(513, "ab"), NaN),
            "token length 513"
        )
        expect((await new TokenStore("pk/dn@host").load()).token).toBe(JWT)
    })
    test("a power cut between parts: a token of two generations is never used", async () => {
        const a = tokenOf(512, "abcdefgh")
        const b = tokenOf(512, "12345678")
        await new TokenStore("pk/dn@host").save(a, NaN)
        const rec: any = await readSetting(TOKEN_KEY)
        expect(rec.n).toBe(3)
        // saving b writes its parts (a new generation) and then its record:
        // cut after each part, before the record
        const g = rec.g + 1
        const bParts = splitToken(b, g)
        expect(bParts.length).toBe(3)
        for (let k = 0; k < bParts.length; k++) {
            await writeSetting(tokenPartKey(k), `${g}:${bParts[k]}`)
            // parts of b beside parts of a, or all of b under a's record
            expect(await new TokenStore("pk/dn@host").load()).toBe(undefined)
        }
        // the device authenticates again and the next save is whole
        await new TokenStore("pk/dn@host").save(b, NaN)
        expect((await new TokenStore("pk/dn@host").load()).token).toBe(b)
    })
    test("a token issued to another identity is not used", async () => {
        await new TokenStore("pk/dn@host").save(
            "tokenForDn0000000000000000000000",
            NaN
        )
        expect(await new TokenStore("pk/other@host").load()).toBe(undefined)
        expect(await new TokenStore("pk/dn@elsewhere").load()).toBe(undefined)
    })
    test("a long identity is stored as a fingerprint and still told apart", async () => {
        const host = tokenOf(253, "abcdefghijklmnopqrstuvwxyz.")
        const who =
            tokenOf(64, "ABCDEF") + "/" + tokenOf(64, "GHIJKL") + "@" + host
        await new TokenStore(who).save(JWT, NaN)
        expect((await new TokenStore(who).load()).token).toBe(JWT)
        expect(await new TokenStore(who + "x").load()).toBe(undefined)
    })
    test("flash is not written when the token did not change", async () => {
        const store = new TokenStore("pk/dn@host")
        await store.save("sameToken0000000000000000000000a", NaN)
        // overwrite behind the store's back: an unchanged save must not rewrite it
        await writeSetting(TOKEN_KEY, { id: "marker", g: 1, n: 1, len: 1 })
        await store.save("sameToken0000000000000000000000a", 1795660000000)
        const stored: any = await readSetting(TOKEN_KEY)
        expect(stored.id).toBe("marker")
        await store.save("newToken00000000000000000000000b", NaN)
        expect((await new TokenStore("pk/dn@host").load()).token).toBe(
            "newToken00000000000000000000000b"
        )
    })
    test("parts a shorter token no longer needs are deleted", async () => {
        await new TokenStore("pk/dn@host").save(tokenOf(512, "xyz"), NaN)
        expect(typeof (await readSetting(tokenPartKey(2)))).toBe("string")
        await new TokenStore("pk/dn@host").save(JWT, NaN)
        expect(await readSetting(tokenPartKey(1))).toBe(undefined)
        expect(await readSetting(tokenPartKey(2))).toBe(undefined)
        expect((await new TokenStore("pk/dn@host").load()).token).toBe(JWT)
    })
    test("a token stored by the previous firmware (one setting) is reused", async () => {
        await writeSetting(TOKEN_KEY, {
            id: "pk/dn@host",
            token: "6944e5bfb92e4d4ea3918d1eda3942f6",
        })
        const t = await new TokenStore("pk/dn@host").load()
        expect(t.token).toBe("6944e5bfb92e4d4ea3918d1eda3942f6")
        expect(await new TokenStore("pk/x@host").load()).toBe(undefined)
    })
    test("a garbled stored value is ignored", async () => {
        await writeSetting(TOKEN_KEY, { id: "pk/dn@host", token: "has space" })
        expect(await new TokenStore("pk/dn@host").load()).toBe(undefined)
        await writeSetting(TOKEN_KEY, "just a string")
        expect(await new TokenStore("pk/dn@host").load()).toBe(undefined)
        await writeSetting(TOKEN_KEY, { id: "x", g: -1, n: 99, len: 5 })
        expect(await new TokenStore("pk/dn@host").load()).toBe(undefined)
    })
})
