/** The API key lives in this tab's sessionStorage only: gone when the tab closes, never in the page's HTML. */
const STORAGE_KEY = 'reelhook.apiKey';

export function savedApiKey(): string | null {
  return sessionStorage.getItem(STORAGE_KEY);
}

export function saveApiKey(apiKey: string): void {
  sessionStorage.setItem(STORAGE_KEY, apiKey);
}

export function forgetApiKey(): void {
  sessionStorage.removeItem(STORAGE_KEY);
}
