const {convertGeopoint}=require('koncorde/lib/util/convertGeopoint');
const {convertDistance}=require('koncorde/lib/util/convertDistance');
const units=require('node-units');
let seed = Number(process.argv[3]||1);
function rnd(){ seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; }
function I(a,b){ return a + Math.floor(rnd()*(b-a+1)); }
function pick(a){ return a[I(0,a.length-1)]; }
const ws = [' ', '', '', '\t', '\u00a0', '\ufeff', '\u0085', '\n', '  ', '\u2003'];
function num(){ return pick([()=>String(rnd()*180-90), ()=>String(I(-200,200)), ()=>pick(['1e2','1.','.5','-0','+3','0x10','43.6abc','Infinity','-Infinity','infinity','NaN','','abc','1e','1e+','1.5e-3','  7',' -.5e1x','٣','1_0']), ()=> (rnd()*360-180).toFixed(I(0,12))])(); }
function geohash(){ const al='0123456789abcdefghijklmnopqrstuvwxyzAB-'; let n=I(0,13), s=''; for(let i=0;i<n;i++) s+= rnd()<0.97? al[I(0,35)] : al[I(36,38)]; return s; }
function str(){ return pick([()=>pick(ws)+num()+pick(ws)+','+pick(ws)+num()+pick(ws), geohash, ()=>num()+','+num()+','+num(), ()=>num(), ()=>pick(['hello','aaaa','spfb09x0ud5s','u09tqt4r1','ilo0','u09x dyq', ''])])(); }
function scalar(){ return pick([()=>rnd()*180-90, ()=>I(-3,3), ()=>0, ()=>null, ()=>true, ()=>false, str, ()=>num(), ()=>-0])(); }
function elem(d){ return pick([scalar, scalar, scalar, ()=> d<3 ? [elem(d+1)] : 1, ()=> d<3 ? [elem(d+1), elem(d+1)] : 2, ()=>[], ()=>({lat:1, lon:2}), ()=>[null, 3]])(); }
function arr(d){ const n=pick([2,2,2,2,0,1,3]); const a=[]; for(let i=0;i<n;i++) a.push(elem(d)); return a; }
function obj(d){
  const keys = ['lat','lon','latLon','lat_lon','lng','0','top_left','x','17'];
  const o = {}; const n=I(0,4);
  if (rnd()<0.5) { o.lat = pick([scalar, ()=>num()])(); o.lon = pick([scalar, ()=>num()])(); }
  for (let i=0;i<n;i++){ const k=pick(keys); o[k] = (k==='latLon'||k==='lat_lon') ? inner(d) : scalar(); }
  return o;
}
function inner(d){ return pick([()=>arr(d), str, ()=>null, ()=>({lat: scalar(), lon: scalar()}), ()=>({lat: 1}), ()=>({lat_lon:[1,2]}), ()=>5, ()=>d<2?obj(d+1):{}])(); }
function value(){ return pick([str, str, ()=>arr(0), ()=>arr(0), ()=>obj(0), ()=>obj(0), scalar])(); }
const enc = x => Number.isNaN(x) ? 'NaN' : x===Infinity ? 'Infinity' : x===-Infinity ? '-Infinity' : (Object.is(x,-0) ? '-0' : x);
const mode = process.argv[2];
const N = Number(process.argv[4]||1000);
const out=[];
if (mode === 'points') {
  for (let i=0;i<N;i++){
    const v = value(); let r;
    try { const c = convertGeopoint(v); r = c===null ? null : [enc(c.lat), enc(c.lon)]; } catch(e) { r = 'throw'; }
    out.push(JSON.stringify({v, p: r}));
  }
} else {
  const numsD = ['1','1,5','1 000,5','1.2.3','-1','+5','.5','1.','1.e3','x5','0','12345678901234567890','1'+'0'.repeat(400),'3 258,55','7','0.001','100000','2e','a1','one.5','twenty1', '٣'];
  const unitsL = ['m','meter','meters','metre','metres','km','kms','kilometer','kilometers','kilometre','cm','mm','mms','dam','hm','mum','ft','feet','feets','foot','in','inch','inches','yd','yard','yards','mi','mile','miles','mis','nmi','kmi','kmis','mies','ms','h','s','min','lb','gal','byte','x','','K','M','KM','Km','Mi','megameters','decameter','dekameters','ly','hectometers','mus','ins','yds','centimeters','millimeters','micrometer','nanometers','ies','es','ss','ydes','ydies','miies','z','zm','ym','am','fm','pm','nm','dm','mm2','m2','k m','kilo meters','\u212am'];
  for (let i=0;i<N;i++){
    const s = pick(ws) + pick(numsD) + pick([' ','',' ','  ','-','\u00a0','\t']) + pick(unitsL) + pick(['','','','',' ','x','.','1',' 2','-']);
    let r, time=false, words=false;
    try { r = enc(convertDistance(s)); } catch(e) { r = 'error'; }
    const cleaned = s.replace(/[-\s]/g, '').replace(/,/g, '.').toLowerCase().replace(/([0-9])([a-z])/, '$1 $2');
    const m = /^(.*?)\s([a-zA-Z]+)$/.exec(cleaned);
    if (m) { const types = units.getUnitType(m[2]) || []; time = !types.some(t => t.type === 'distance') && types.some(t=>t.type==='time'); words = /[a-z]/i.test(m[1]); }
    out.push(JSON.stringify({s, m: r, time, words}));
  }
}
console.log(out.join('\n'));
