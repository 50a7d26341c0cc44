import { expect } from "@devicescript/test"

function expectMessage(msg: string, part: string) {
    if (msg === null || msg.indexOf(part) < 0)
        console.log(`expected error with '${part}', got ${msg}`)
    expect(msg !== null && msg.indexOf(part) >= 0).toBe(true)
}

/** Expects `f` to throw an error whose message contains `part`. */
export function failsWith(f: () => void, part: string) {
    let msg: string = null
    try {
        f()
    } catch (e) {
        msg = (e as Error).message
    }
    expectMessage(msg, part)
}

/** Expects `f` to reject with an error whose message contains `part`. */
export async function rejects(f: () => Promise<any>, part: string) {
    let msg: string = null
    try {
        await f()
    } catch (e) {
        msg = (e as Error).message
    }
    expectMessage(msg, part)
}
