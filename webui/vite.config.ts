import { defineConfig } from 'vite';

// The app is served by shoeboxd from its own binary: no CDN, relative to the box's address.
export default defineConfig({
  base: '/',
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2020', assetsInlineLimit: 0, sourcemap: false },
  server: { proxy: { '/api': 'http://127.0.0.1:8080', '/access': 'http://127.0.0.1:8080' } },
});
