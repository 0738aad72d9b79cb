/** The API key lives in this tab's sessionStorage only: gone when the tab closes, never in the page's HTML. */
const STORAGE_KEY = 'reelhook.apiKey';

/** `reelhook dev` prints a sign-in link `/#key=rk_…`: a fragment never reaches the server, so no log holds the key. */
const FRAGMENT_KEY = 'key';

/** The key of a sign-in link, taken out of the address bar (and so out of history and bookmarks) once read. */
function takeFragmentKey(): string | null {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const apiKey = fragment.get(FRAGMENT_KEY)?.trim();
  if (!apiKey) return null;
  fragment.delete(FRAGMENT_KEY);
  const rest = fragment.toString();
  history.replaceState(history.state, '', `${location.pathname}${location.search}${rest ? `#${rest}` : ''}`);
  return apiKey;
}

/** A sign-in link's key wins over the one saved in this tab: the link is what the user just opened. */
export function savedApiKey(): string | null {
  const linked = takeFragmentKey();
  if (linked) saveApiKey(linked);
  return sessionStorage.getItem(STORAGE_KEY);
}

export function saveApiKey(apiKey: string): void {
  sessionStorage.setItem(STORAGE_KEY, apiKey);
}

export function forgetApiKey(): void {
  sessionStorage.removeItem(STORAGE_KEY);
}
