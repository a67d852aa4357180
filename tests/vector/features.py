"""Small SVGs that each exercise one rasterizer feature (compared with cairosvg in the tests)."""

HEAD = '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 32 32">'

FEATURES = {
    "nonzero_star": HEAD + '<path d="M16 2 L24 28 L3 11 L29 11 L8 28 Z" fill="#c0392b" fill-rule="nonzero"/></svg>',
    "evenodd_star": HEAD + '<path d="M16 2 L24 28 L3 11 L29 11 L8 28 Z" fill="#2980b9" fill-rule="evenodd"/></svg>',
    "evenodd_ring": HEAD + '<path d="M16 3 A13 13 0 1 1 15.99 3 Z M16 9 A7 7 0 1 0 16.01 9 Z" fill="#8e44ad" fill-rule="evenodd"/></svg>',
    "cubic_quad_arc": HEAD + '<path d="M3 20 C 6 2, 14 2, 16 14 Q 22 28 28 12 A 4 6 30 0 0 20 6" fill="#27ae60" stroke="#111" stroke-width="1"/></svg>',
    "joins": HEAD
    + '<g fill="none" stroke="#222" stroke-width="2.5">'
    + '<polyline points="3,10 9,3 15,10 21,3 27,10" stroke-linejoin="miter"/>'
    + '<polyline points="3,19 9,12 15,19 21,12 27,19" stroke-linejoin="round"/>'
    + '<polyline points="3,28 9,21 15,28 21,21 27,28" stroke-linejoin="bevel"/></g></svg>',
    "caps": HEAD
    + '<g stroke="#d35400" stroke-width="3"><line x1="6" y1="6" x2="26" y2="6" stroke-linecap="butt"/>'
    + '<line x1="6" y1="16" x2="26" y2="16" stroke-linecap="round"/>'
    + '<line x1="6" y1="26" x2="26" y2="26" stroke-linecap="square"/></g></svg>',
    "miter_limit": HEAD
    + '<polyline points="4,28 16,4 28,28" fill="none" stroke="#000" stroke-width="2" stroke-miterlimit="2"/>'
    + '<polyline points="4,30 16,14 28,30" fill="none" stroke="#555" stroke-width="1.5" stroke-miterlimit="10"/></svg>',
    "shapes_transforms": HEAD
    + '<rect x="2" y="2" width="12" height="8" rx="2" fill="#16a085" transform="rotate(10 8 6)"/>'
    + '<ellipse cx="22" cy="9" rx="7" ry="4" fill="#f39c12" transform="skewX(15)"/>'
    + '<circle cx="9" cy="22" r="6" fill="#34495e" stroke="#e74c3c" stroke-width="1.5"/>'
    + '<polygon points="18,16 30,18 26,30 17,27" fill="#9b59b6"/></svg>',
    "linear_spread": HEAD
    + '<defs><linearGradient id="a" x1="0.3" x2="0.6" spreadMethod="pad"><stop offset="0" stop-color="#f00"/><stop offset="1" stop-color="#00f"/></linearGradient>'
    + '<linearGradient id="b" href="#a" spreadMethod="reflect"/><linearGradient id="c" href="#a" spreadMethod="repeat" gradientTransform="rotate(30)"/></defs>'
    + '<rect x="1" y="1" width="30" height="9" fill="url(#a)"/><rect x="1" y="11" width="30" height="9" fill="url(#b)"/>'
    + '<rect x="1" y="21" width="30" height="10" fill="url(#c)"/></svg>',
    "radial_focal": HEAD
    + '<defs><radialGradient id="r" cx="16" cy="16" r="14" fx="11" fy="12" gradientUnits="userSpaceOnUse">'
    + '<stop offset="0" stop-color="#fff"/><stop offset="0.5" stop-color="#fc0" stop-opacity="0.8"/><stop offset="1" stop-color="#c00"/></radialGradient></defs>'
    + '<circle cx="16" cy="16" r="14" fill="url(#r)"/></svg>',
    "opacity": HEAD
    + '<rect x="2" y="2" width="18" height="18" fill="#e74c3c"/>'
    + '<g opacity="0.6"><circle cx="20" cy="20" r="9" fill="#3498db" fill-opacity="0.7"/></g>'
    + '<path d="M2 29 L30 25" stroke="#2ecc71" stroke-width="2" stroke-opacity="0.5"/></svg>',
    "opacity_fill_and_stroke": HEAD
    + '<rect x="3" y="3" width="26" height="12" fill="#2c3e50"/>'
    + '<circle cx="16" cy="16" r="10" fill="#e67e22" stroke="#8e44ad" stroke-width="4" stroke-opacity="0.8" opacity="0.6"/></svg>',
    "group_opacity": HEAD
    + '<g opacity="0.5"><rect x="2" y="2" width="16" height="16" fill="#00f"/><rect x="9" y="9" width="16" height="16" fill="#f00"/>'
    + '<g opacity="0.8"><circle cx="24" cy="24" r="6" fill="#0a0" stroke="#000" stroke-width="2"/></g></g>'
    + '<g opacity="0.7"><ellipse cx="9" cy="26" rx="6" ry="3" fill="#1abc9c" stroke="#c0392b" stroke-width="2"/></g></svg>',
}
