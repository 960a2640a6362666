import sharp from 'sharp';
const [a,b] = process.argv.slice(2);
const ra = await sharp(a).removeAlpha().raw().toBuffer({resolveWithObject:true});
const rb = await sharp(b).removeAlpha().raw().toBuffer({resolveWithObject:true});
const W=ra.info.width;
const se=[0,0,0], sd=[0,0,0]; const n=ra.data.length/3;
const rows = new Float64Array(ra.info.height);
for (let i=0;i<ra.data.length;i++){const d=ra.data[i]-rb.data[i]; se[i%3]+=d*d; sd[i%3]+=d; rows[Math.floor(i/3/W)]+=d*d;}
console.log('mse', se.map(x=>x/n), 'mean diff', sd.map(x=>x/n));
const worst=[...rows].map((v,i)=>[v/W,i]).sort((x,y)=>y[0]-x[0]).slice(0,5); console.log('worst rows', worst);
