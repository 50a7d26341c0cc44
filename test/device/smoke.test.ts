import { describe, test, expect } from "@devicescript/test"
describe("smoke", () => {
    test("one", () => {
        expect(1).toBe(1)
    })
})
