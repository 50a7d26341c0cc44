// The access token, as the page got it (the server writes it into the page
// it serves to `?token=`), sent in a header on every request the page makes
// to the console. Never a cookie: a browser sends the cookies of 127.0.0.1
// to every port of it, so another local server would receive them.

/** The console's access token. */
export const token =
    document
        .querySelector('meta[name="console-token"]')
        ?.getAttribute("content") ?? ""

/**
 * `fetch` on the console with the token in the `X-Console-Token` header.
 * @param {string} url a path on the console @param {RequestInit} [init]
 */
export function consoleFetch(url, init = {}) {
    const headers = new Headers(init.headers)
    headers.set("X-Console-Token", token)
    return fetch(url, { ...init, headers, credentials: "omit" })
}
