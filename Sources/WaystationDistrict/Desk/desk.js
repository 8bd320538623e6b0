// The district desk's script (served as /desk/static/desk.js): the station page's charts.
'use strict';
