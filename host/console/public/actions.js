// Actions (assign, widen, stop, rollback): each asks for an explicit
// confirmation, then POSTs with the access token in a header, so another
// site cannot make the browser act.
import { byId } from "./dom.js"
import { consoleFetch } from "./token.js"
import { visible } from "./visible.js"

/**
 * POSTs action `name` with `body`.
 * @param {string} name @param {object} body
 * @returns {Promise<{ok: boolean, text: string}>}
 */
export async function post(name, body) {
    const r = await consoleFetch(`/api/${name}`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
    })
    const j = await r.json().catch(() => ({}))
    return { ok: r.ok, text: r.ok ? j.message : j.error || `HTTP ${r.status}` }
}

/** @type {any} */
let toastTimer

/** Shows a short message at the bottom of the page. @param {string} text */
export function toast(text) {
    const t = byId("toast")
    t.textContent = visible(text)
    clearTimeout(toastTimer)
    toastTimer = setTimeout(() => (t.textContent = ""), 8000)
}

/**
 * Asks "question" in a dialog; only on Confirm runs the action.
 * @param {string} question @param {string} name @param {object} body
 */
export function confirmAction(question, name, body) {
    const d = /** @type {HTMLDialogElement} */ (byId("confirm"))
    byId("confirm-text").textContent = visible(question)
    byId("confirm-result").textContent = "Nothing happens until you confirm."
    d.returnValue = ""
    d.onclose = async () => {
        if (d.returnValue !== "ok") return toast(`cancelled: ${name}`)
        const r = await post(name, body)
        toast(r.ok ? r.text : `refused: ${r.text}`)
    }
    d.showModal()
}
