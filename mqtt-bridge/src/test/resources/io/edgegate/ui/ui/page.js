import { el } from './common.js';
document.body.appendChild(el('p', {}, 'page script ran'));
