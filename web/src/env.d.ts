// Vite turns CSS imports into <link> tags; TypeScript only needs to know the module exists.
declare module '*.css';
