import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';

// The API the dev server proxies to (`npm run dev`); `parley serve` listens
// on 127.0.0.1:8080 by default.
const api = process.env.PARLEY_API ?? 'http://127.0.0.1:8080';
const apiPrefixes = [
  '/auth', '/projects', '/tokens', '/audit', '/chat-flow', '/simulator', '/contacts',
  '/conversations', '/sessions', '/channels', '/templates', '/webhooks', '/openapi.json', '/docs',
  '/healthz', '/readyz',
];

export default defineConfig({
  base: '/app/',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('../internal/webui/dist', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 600,
  },
  server: {
    host: '127.0.0.1',
    port: 5173,
    proxy: Object.fromEntries(apiPrefixes.map((p) => [p, { target: api, changeOrigin: false }])),
  },
});
